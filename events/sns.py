"""Amazon SNS messages posted to an HTTP endpoint: parsing, signature verification and
subscription confirmation, without boto3.

SNS signs each message with RSA over a canonical string of its fields, using the key of the
certificate at `SigningCertURL`. That URL comes from the message itself, so it is fetched only
from an allowed host: AWS's own `sns.<region>.amazonaws.com` over https, or the hosts listed
by the caller. https to such a host is what makes the certificate authentic.
https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
"""

import base64
import binascii
import http.client
import ipaddress
import json
import re
import threading
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

MESSAGE_TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")
# The signed fields, in the order SNS puts them in the canonical string.
_SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_SIGNED_FIELDS["UnsubscribeConfirmation"] = _SIGNED_FIELDS["SubscriptionConfirmation"]
_OPTIONAL_FIELDS = {"Subject"}
# SignatureVersion 1 is SHA1withRSA: weak, but still SNS's default for a topic.
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}

_AWS_SNS_HOST = re.compile(r"sns\.[a-z]{2}(?:-[a-z]+)+-\d{1,2}\.amazonaws\.com")
_DEFAULT_PORTS = {"https": 443, "http": 80}

FETCH_TIMEOUT_S = 5  # SNS gives up on the whole POST after 15 s.
_MAX_FETCH_BYTES = 64 * 1024  # An SNS certificate is about 2 KB.
_CACHE_SIZE = 16


class SNSError(Exception):
    """Why an SNS message is not accepted; the text is safe to show to the sender."""


class MalformedMessage(SNSError):
    """The body is not an SNS message."""


class NotAuthentic(SNSError):
    """The message is not proven to come from SNS."""


class FetchError(SNSError):
    """An allowed URL could not be fetched; `transient` when retrying later may succeed."""

    def __init__(self, detail: str, *, transient: bool):
        super().__init__(detail)
        self.transient = transient


# --- the message


def parse_message(body: bytes) -> dict[str, Any]:
    """The SNS message in a request body, with its type and signed fields checked."""
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedMessage(f"The body is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise MalformedMessage("The body is not an SNS message: not a JSON object.")
    kind = message.get("Type")
    if kind not in MESSAGE_TYPES:
        raise MalformedMessage(
            f"Unknown SNS message Type {kind!r}: expected {', '.join(MESSAGE_TYPES)}."
        )
    for name in _SIGNED_FIELDS[kind]:
        value = message.get(name)
        if not isinstance(value, str) and not (name in _OPTIONAL_FIELDS and value is None):
            raise MalformedMessage(f"The SNS {kind} has no text field {name}.")
    return message


def canonical_string(message: dict[str, Any]) -> bytes:
    """What SNS signs: each signed field present, as its name and value on lines of their own."""
    lines = []
    for name in _SIGNED_FIELDS[message["Type"]]:
        if message.get(name) is not None:
            lines.append(f"{name}\n{message[name]}\n")
    return "".join(lines).encode()


# --- allowed URLs


def url_allowed(url: str, hosts: Sequence[str]) -> bool:
    """Whether `url` may be fetched. By default only https on AWS's `sns.<region>.amazonaws.com`;
    `hosts` ("host" or "host:port") replaces that, and a loopback host:port listed there may
    also be fetched over plain http (a local test server)."""
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        return False  # urlsplit drops some of these: what it parses may not be what is fetched
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname
    if parts.scheme not in _DEFAULT_PORTS or not host or "@" in parts.netloc:
        return False
    if port is None:
        port = _DEFAULT_PORTS[parts.scheme]
    listed = [entry.strip() for entry in hosts if entry.strip()]
    if not listed:
        return parts.scheme == "https" and port == 443 and bool(_AWS_SNS_HOST.fullmatch(host))
    return any(_listed_host_allows(entry, parts.scheme, host, port) for entry in listed)


def _listed_host_allows(entry: str, scheme: str, host: str, port: int) -> bool:
    try:
        allowed = urlsplit(f"//{entry}")
        allowed_port = allowed.port
    except ValueError:
        return False
    if allowed.hostname != host:
        return False
    if allowed_port is None:
        return scheme == "https" and port == 443
    return port == allowed_port and (scheme == "https" or _is_loopback(host))


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- fetching


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead off the allowed hosts: it is answered as the error it is."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _fetch(url: str) -> bytes:
    """GET an allowed URL (checked by the caller), bounded in time and size."""
    try:
        with _opener.open(url, timeout=FETCH_TIMEOUT_S) as response:
            body = response.read(_MAX_FETCH_BYTES + 1)
    except urllib.error.HTTPError as error:
        error.close()
        raise FetchError(
            f"{url} answered HTTP {error.code}.", transient=error.code >= 500
        ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", None) or error
        raise FetchError(f"{url} could not be reached: {reason}", transient=True) from None
    if len(body) > _MAX_FETCH_BYTES:
        raise FetchError(f"{url} answered more than {_MAX_FETCH_BYTES} bytes.", transient=False)
    return body


# --- signatures

_signing_keys: OrderedDict[str, rsa.RSAPublicKey] = OrderedDict()
_signing_keys_lock = threading.Lock()


def signing_key(url: str) -> rsa.RSAPublicKey:
    """The RSA key of the certificate at an allowed `url`. Kept in process by URL (SNS names a
    new URL for a new certificate), at most _CACHE_SIZE of them; fetched under a lock so that a
    burst of messages fetches a new certificate once."""
    with _signing_keys_lock:
        key = _signing_keys.get(url)
        if key is None:
            key = _load_signing_key(url)
        _signing_keys[url] = key
        _signing_keys.move_to_end(url)
        while len(_signing_keys) > _CACHE_SIZE:
            _signing_keys.popitem(last=False)
    return key


def _load_signing_key(url: str) -> rsa.RSAPublicKey:
    try:
        pem = _fetch(url)
    except FetchError as error:
        if error.transient:
            raise
        raise NotAuthentic(f"The signing certificate could not be fetched: {error}") from None
    try:
        key = x509.load_pem_x509_certificate(pem).public_key()
    except ValueError:
        raise NotAuthentic(f"{url} does not hold a PEM certificate.") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise NotAuthentic(f"The certificate at {url} does not hold an RSA key.")
    return key


def verify_signature(message: dict[str, Any], hosts: Sequence[str]) -> None:
    """Raise NotAuthentic unless SNS signed `message` (as parsed by `parse_message`); FetchError
    (transient) when the certificate cannot be fetched now."""
    version = message.get("SignatureVersion")
    if version not in _HASHES:
        raise NotAuthentic(f"Unsupported SNS SignatureVersion {version!r}: expected 1 or 2.")
    url = message.get("SigningCertURL")
    if not isinstance(url, str) or not url_allowed(url, hosts):
        raise NotAuthentic(f"The SigningCertURL {url!r} is not on an allowed host.")
    try:
        signature = base64.b64decode(message.get("Signature") or "", validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise NotAuthentic("The SNS Signature is not base64.") from None
    if not signature:
        raise NotAuthentic("The SNS message is not signed.")
    try:
        signing_key(url).verify(
            signature, canonical_string(message), padding.PKCS1v15(), _HASHES[version]()
        )
    except InvalidSignature:
        raise NotAuthentic("The SNS signature does not match the message.") from None


# --- subscriptions


def confirm_subscription(message: dict[str, Any], hosts: Sequence[str]) -> None:
    """Confirm a verified SubscriptionConfirmation the way SNS documents for HTTP endpoints:
    a GET of its SubscribeURL, when that URL is on an allowed host."""
    url = message["SubscribeURL"]
    if not url_allowed(url, hosts):
        raise NotAuthentic(f"The SubscribeURL {url!r} is not on an allowed host.")
    _fetch(url)
