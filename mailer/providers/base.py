"""The common shape of an outgoing provider kind, and what every kind shares: building a
Django email backend for an account, and classifying what went wrong when a send failed.

A kind module (`mailer/providers/<slug>.py`) declares one `ProviderKind`: the backend's dotted
path, the credential fields an operator fills in, and, only where the names differ, how those
fields become the backend's keyword arguments. Backends are imported lazily, so a kind whose
package is missing (boto3 for Amazon SES) reports itself unavailable instead of breaking imports.
"""

import enum
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import requests
from anymail.exceptions import (
    AnymailAPIError,
    AnymailConfigurationError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailSerializationError,
    AnymailUnsupportedFeature,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.base import BaseEmailBackend
from django.utils.module_loading import import_string
from urllib3.exceptions import MaxRetryError, NewConnectionError


@dataclass(frozen=True)
class ProviderKind:
    """One way out: `slug` is ProviderAccount.kind and the events' provider slug."""

    slug: str
    backend_path: str
    # What an operator fills in (the API and pages show these); all optional but `required`.
    credential_fields: tuple[str, ...]
    required: tuple[str, ...] = ()
    # credentials -> backend kwargs (given every stored field); by default the declared fields
    # pass through under their own names.
    to_kwargs: Callable[[dict], dict] | None = None
    # Whether the backend takes `timeout` (anymail's requests backends and Django's SMTP do).
    takes_timeout: bool = True

    @cached_property
    def _import_error(self) -> str | None:
        try:
            import_string(self.backend_path)
        except ImportError as error:
            return f"{self.backend_path} cannot be imported: {error}".replace("\n", " ")
        return None

    def unavailable_reason(self) -> str | None:
        """Why this kind cannot send in this installation (a missing package), or None."""
        return self._import_error

    def missing_credentials(self, credentials: dict) -> list[str]:
        return [name for name in self.required if credentials.get(name) in (None, "")]

    def backend_kwargs(self, credentials: dict) -> dict:
        if self.to_kwargs:
            kwargs = self.to_kwargs(dict(credentials))
        else:
            kwargs = {
                name: credentials[name]
                for name in self.credential_fields
                if credentials.get(name) not in (None, "")
            }
        if self.takes_timeout:
            kwargs.setdefault("timeout", settings.EMAIL_TIMEOUT)
        return kwargs

    def backend(self, credentials: dict) -> BaseEmailBackend:
        """A new backend for these credentials; raises ImproperlyConfigured when they cannot
        work (missing fields, missing package) and ImportError never."""
        reason = self.unavailable_reason()
        if reason:
            raise ImproperlyConfigured(reason)
        missing = self.missing_credentials(credentials)
        if missing:
            raise ImproperlyConfigured(f"missing credentials: {', '.join(missing)}")
        backend_class = import_string(self.backend_path)
        return backend_class(fail_silently=False, **self.backend_kwargs(credentials))


class Verdict(enum.Enum):
    """What a failed send means, and so what the router does next."""

    # The recipient's or the content's fault: fail the message, no failover.
    REJECTED = "rejected"
    # This recipient, not now (an SMTP 4xx to RCPT): retry the message later, no failover.
    DEFERRED = "deferred"
    # Credentials or settings are wrong: mark the provider misconfigured, fail over.
    MISCONFIGURED = "misconfigured"
    # Too fast or too much (429): throttle the provider, fail over.
    THROTTLED = "throttled"
    # Not accepted, provider trouble (5xx, refused connection): count for the breaker, fail over.
    OUTAGE = "outage"
    # The request went out but no answer came back (read timeout, connection lost after the
    # request): maybe accepted. Count for the breaker, but never fail over: the message is
    # retried later with the same Message-ID.
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class Failure:
    verdict: Verdict
    reason: str
    retry_after_s: float | None = None

    @property
    def fails_over(self) -> bool:
        return self.verdict in (Verdict.MISCONFIGURED, Verdict.THROTTLED, Verdict.OUTAGE)


def _short(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]


def _retry_after_s(response) -> float | None:
    value = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:  # an HTTP date: rare from ESP APIs; the default window applies
        return None


def _never_sent(error: requests.RequestException) -> bool:
    """Whether the connection failed before the request went out (so it cannot be accepted)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    cause = error.args[0] if error.args else None
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError)


def _classify_http(error: AnymailAPIError) -> Failure:
    status = error.status_code
    reason = f"HTTP {status}" if status else _short(error)
    transport = error.__cause__
    if status is None and isinstance(transport, requests.RequestException):
        verdict = Verdict.OUTAGE if _never_sent(transport) else Verdict.AMBIGUOUS
        return Failure(verdict, _short(transport))
    if status is None or 200 <= status < 300:
        # An answer we could not read: the provider may well have taken the message.
        return Failure(Verdict.AMBIGUOUS, f"unreadable answer: {_short(error)}")
    if status in (401, 403, 404, 405):
        return Failure(Verdict.MISCONFIGURED, f"{reason}: credentials or API URL refused")
    if status == 429:
        return Failure(Verdict.THROTTLED, f"{reason}: rate limited", _retry_after_s(error.response))
    if status == 504:
        # A gateway gave up waiting for the provider, which may still have taken the message.
        return Failure(Verdict.AMBIGUOUS, f"{reason}: gateway timeout")
    if status == 408 or status >= 500:
        return Failure(Verdict.OUTAGE, f"{reason}: provider error")
    return Failure(Verdict.REJECTED, f"{reason}: {_describe_body(error)}")


def _describe_body(error: AnymailAPIError) -> str:
    try:
        return error.response.text[:300]
    except AttributeError:
        return _short(error)


def _classify_smtp(error: smtplib.SMTPException, *, sending: bool) -> Failure:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        verdict = Verdict.REJECTED if min(codes) >= 500 else Verdict.DEFERRED
        return Failure(verdict, f"recipient refused: {error.recipients}")
    if isinstance(error, smtplib.SMTPAuthenticationError | smtplib.SMTPNotSupportedError):
        return Failure(Verdict.MISCONFIGURED, _short(error))
    if isinstance(error, smtplib.SMTPConnectError):
        return Failure(Verdict.OUTAGE, _short(error))
    if isinstance(error, smtplib.SMTPServerDisconnected):
        # smtplib reports a greeting that never came (a hanging server) this way too.
        return Failure(Verdict.AMBIGUOUS if sending else Verdict.OUTAGE, _short(error))
    if isinstance(error, smtplib.SMTPResponseException):
        text = f"{error.smtp_code} {error.smtp_error!r}"
        if error.smtp_code in (421, 454) or 400 <= error.smtp_code < 500:
            return Failure(Verdict.OUTAGE, text)
        if error.smtp_code in (530, 534, 535, 538):
            return Failure(Verdict.MISCONFIGURED, text)
        return Failure(Verdict.REJECTED, text)
    return Failure(Verdict.OUTAGE, _short(error))


def classify(error: BaseException, *, sending: bool) -> Failure:
    """What a failed send means. `sending`: the error came after the message started going
    out (not while opening the connection), so a lost connection may hide an acceptance."""
    if isinstance(error, AnymailRecipientsRefused | AnymailInvalidAddress):
        return Failure(Verdict.REJECTED, _short(error))
    if isinstance(error, AnymailUnsupportedFeature | AnymailSerializationError):
        return Failure(Verdict.REJECTED, _short(error))
    if isinstance(error, AnymailAPIError):
        return _classify_http(error)
    if isinstance(error, AnymailConfigurationError | ImproperlyConfigured):
        return Failure(Verdict.MISCONFIGURED, _short(error))
    if isinstance(error, AnymailError):
        # Raised while building the request (e.g. no sender domain): nothing went out.
        return Failure(Verdict.MISCONFIGURED, _short(error))
    if isinstance(error, smtplib.SMTPException):
        return _classify_smtp(error, sending=sending)
    if isinstance(error, ConnectionRefusedError | socket.gaierror):
        return Failure(Verdict.OUTAGE, _short(error))
    # A lost connection, or anything unforeseen: once the message started going out, it may
    # have been taken, so it is retried later (same Message-ID) rather than sent elsewhere.
    return Failure(Verdict.AMBIGUOUS if sending else Verdict.OUTAGE, _short(error))
