"""Amazon SNS for the tests: a signing key and certificate, a real local HTTP server standing in
for SNS (it serves the certificate and answers subscription confirmations, and records every
request it gets), and SNS messages built and signed the way SNS does."""

import base64
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:ses-events"

# SNS's canonical string: these fields, in this order, each present one as "name\nvalue\n".
NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def self_signed_pem(key: rsa.RSAPrivateKey) -> bytes:
    """A certificate like SNS's (its subject is the SNS host), signed by its own key."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.us-east-1.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class SNSServer:
    """The local stand-in for SNS. `requests` lists the path of every request received."""

    key: rsa.RSAPrivateKey
    pem: bytes
    requests: list[str] = field(default_factory=list)
    # A path of its own, so that no two servers (even on a reused port) share a cached cert.
    cert_path: str = field(default_factory=lambda: f"/SimpleNotificationService-{uuid.uuid4()}.pem")
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def cert_url(self) -> str:
        return self.url(self.cert_path)

    def requests_for(self, path: str) -> list[str]:
        return [seen for seen in self.requests if seen.split("?")[0] == path]

    def start(self) -> ThreadingHTTPServer:
        sns = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                sns.requests.append(self.path)
                if self.path == sns.cert_path:
                    self.answer(200, sns.pem, "application/x-pem-file")
                elif self.path.startswith("/confirm?"):
                    self.answer(200, b"<ConfirmSubscriptionResponse/>", "text/xml")
                else:
                    self.answer(404, b"not found", "text/plain")

            def answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return server


@pytest.fixture(scope="session")
def sns_key() -> rsa.RSAPrivateKey:
    return new_key()


@pytest.fixture
def sns_server(sns_key, settings):
    """A running SNSServer whose host:port is the one allowed certificate host."""
    sns = SNSServer(key=sns_key, pem=self_signed_pem(sns_key))
    server = sns.start()
    settings.AMAZON_SES_SNS_CERT_HOSTS = [f"127.0.0.1:{sns.port}"]
    yield sns
    server.shutdown()
    server.server_close()


def _timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sign(message: dict, key: rsa.RSAPrivateKey, version: str = "2") -> dict:
    """`message` with SignatureVersion and Signature: SHA1withRSA (1) or SHA256withRSA (2)
    over the canonical string."""
    fields = NOTIFICATION_FIELDS if message["Type"] == "Notification" else CONFIRMATION_FIELDS
    canonical = "".join(f"{name}\n{message[name]}\n" for name in fields if name in message)
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 (SNS v1)
    signature = key.sign(canonical.encode(), padding.PKCS1v15(), digest)
    return {
        **message,
        "SignatureVersion": version,
        "Signature": base64.b64encode(signature).decode(),
    }


def notification(
    sns: SNSServer,
    message: dict | str,
    *,
    version: str = "2",
    key: rsa.RSAPrivateKey | None = None,
    topic_arn: str = TOPIC_ARN,
    subject: str | None = None,
) -> dict:
    """A signed SNS Notification carrying `message` (an SES event, sent as a JSON string)."""
    body = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic_arn,
        **({"Subject": subject} if subject else {}),
        "Message": message if isinstance(message, str) else json.dumps(message),
        "Timestamp": _timestamp(),
    }
    return {
        **sign(body, key or sns.key, version),
        "SigningCertURL": sns.cert_url,
        "UnsubscribeURL": sns.url(f"/?Action=Unsubscribe&SubscriptionArn={topic_arn}:sub-1"),
    }


def confirmation(
    sns: SNSServer,
    kind: str = "SubscriptionConfirmation",
    *,
    subscribe_url: str | None = None,
    key: rsa.RSAPrivateKey | None = None,
    topic_arn: str = TOPIC_ARN,
) -> dict:
    """A signed SNS SubscriptionConfirmation (or UnsubscribeConfirmation)."""
    token = uuid.uuid4().hex
    body = {
        "Type": kind,
        "MessageId": str(uuid.uuid4()),
        "Token": token,
        "TopicArn": topic_arn,
        "Message": f"You have chosen to subscribe to the topic {topic_arn}.",
        "SubscribeURL": subscribe_url
        or sns.url(f"/confirm?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}"),
        "Timestamp": _timestamp(),
    }
    return {**sign(body, key or sns.key), "SigningCertURL": sns.cert_url}


def post_sns(
    client,
    message: dict,
    path: str = "/api/hook/amazon_ses/",
    content_type: str = "text/plain; charset=UTF-8",
    **headers: str,
):
    """Post `message` as SNS does: a JSON body as text/plain, with SNS's headers."""
    sns_headers = {
        "x-amz-sns-message-type": message.get("Type", ""),
        "x-amz-sns-message-id": message.get("MessageId", ""),
        "x-amz-sns-topic-arn": message.get("TopicArn", ""),
        "user-agent": "Amazon Simple Notification Service Agent",
    }
    return client.post(
        path, json.dumps(message), content_type=content_type, headers={**sns_headers, **headers}
    )
