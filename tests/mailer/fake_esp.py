"""Fake ESP send APIs for tests: real HTTP servers on 127.0.0.1 (http.server in a thread)
answering like Mailgun, Postmark, SendGrid and Amazon SES, so anymail's own backends (and
boto3) talk to them through their `api_url`. Each server records every request and the mail
it accepted, and is scripted per test: succeed, refuse a recipient, answer 401, 429
(Retry-After), 5xx, hang, or go down after a number of accepted messages."""

import base64
import json
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from mailer.models import ProviderAccount
from tests.servers import free_port

OK = "ok"


@dataclass(frozen=True)
class Answer:
    status: int
    body: object = None
    headers: dict = field(default_factory=dict)
    hang_s: float = 0.0


@dataclass(frozen=True)
class Accepted:
    recipient: str
    message_id: str  # our Message-ID header, as receiving systems would dedupe on it
    provider_id: str


@dataclass
class Request:
    path: str
    headers: dict
    recipient: str
    message_id: str
    at: float = field(default_factory=time.time)


def _form(content_type: str, body: bytes) -> dict[str, str]:
    """A posted form (urlencoded, or multipart with attachments) as a dict of text fields."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {name: values[0] for name, values in parse_qs(body.decode()).items()}
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    mail = BytesParser(policy=default_policy).parsebytes(head + body)
    fields = {}
    for part in mail.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name and part.get_filename() is None:
            fields[name] = part.get_content().strip()
    return fields


class Family:
    """One ESP's request and answer shapes."""

    name: str
    path: str

    def parse(self, content_type: str, body: bytes) -> tuple[str, str]:
        """(recipient, our Message-ID) from a send request."""
        raise NotImplementedError

    def success(self, recipient: str) -> tuple[Answer, str]:
        raise NotImplementedError

    def recipient_error(self, recipient: str) -> Answer:
        raise NotImplementedError


class Mailgun(Family):
    name, path = "mailgun", "/v3/mg.example.com/messages"

    def parse(self, content_type, body):
        fields = _form(content_type, body)
        return fields.get("to", ""), fields.get("h:Message-Id", "")

    def success(self, recipient):
        provider_id = f"<{uuid.uuid4().hex}@mg.example.com>"
        return Answer(200, {"id": provider_id, "message": "Queued. Thank you."}), provider_id

    def recipient_error(self, recipient):
        return Answer(400, {"message": "to parameter is not a valid address. please check"})

    def credentials(self, url: str) -> dict:
        return {"api_key": "key-test", "sender_domain": "mg.example.com", "api_url": f"{url}/v3"}


class Postmark(Family):
    name, path = "postmark", "/email"

    def parse(self, content_type, body):
        data = json.loads(body)
        headers = {h["Name"].lower(): h["Value"] for h in data.get("Headers", [])}
        return data.get("To", ""), headers.get("message-id", "")

    def success(self, recipient):
        provider_id = str(uuid.uuid4())
        body = {
            "To": recipient,
            "SubmittedAt": "2025-01-01T00:00:00Z",
            "MessageID": provider_id,
            "ErrorCode": 0,
            "Message": "OK",
        }
        return Answer(200, body), provider_id

    def recipient_error(self, recipient):
        message = (
            "You tried to send to a recipient that has been marked as inactive.\n"
            f"Found inactive addresses: {recipient}.\n"
            "Inactive recipients are ones that have generated a hard bounce or a spam complaint."
        )
        return Answer(422, {"ErrorCode": 406, "Message": message})

    def credentials(self, url: str) -> dict:
        return {"server_token": "token-test", "api_url": f"{url}/"}


class SendGrid(Family):
    name, path = "sendgrid", "/v3/mail/send"

    def parse(self, content_type, body):
        data = json.loads(body)
        recipient = data["personalizations"][0]["to"][0]["email"]
        headers = {k.lower(): v for k, v in data.get("headers", {}).items()}
        return recipient, headers.get("message-id", "")

    def success(self, recipient):
        # SendGrid answers 202 with no body; anymail's generated id is the message id.
        return Answer(202, None), ""

    def recipient_error(self, recipient):
        error = {"message": "Does not contain a valid address.", "field": "personalizations.0.to"}
        return Answer(400, {"errors": [error]})

    def credentials(self, url: str) -> dict:
        return {"api_key": "SG.test", "api_url": f"{url}/v3/"}


class AmazonSes(Family):
    """SES v2 SendEmail (boto3's JSON protocol; anymail sends the raw MIME message)."""

    name, path = "amazon_ses", "/v2/email/outbound-emails"

    def parse(self, content_type, body):
        data = json.loads(body)
        raw = base64.b64decode(data["Content"]["Raw"]["Data"])
        mail = BytesParser(policy=default_policy).parsebytes(raw)
        return data["Destination"]["ToAddresses"][0], str(mail.get("Message-ID", ""))

    def success(self, recipient):
        provider_id = f"0100{uuid.uuid4().hex}-000000"
        return Answer(200, {"MessageId": provider_id}), provider_id

    def recipient_error(self, recipient):
        return Answer(400, {"__type": "BadRequestException", "message": "Illegal address"})

    def credentials(self, url: str) -> dict:
        return {
            "access_key_id": "AKIDEXAMPLE",
            "secret_access_key": "secret-example",
            "region": "eu-west-1",
            "api_url": url,
        }


FAMILIES = {family.name: family for family in (Mailgun(), Postmark(), SendGrid(), AmazonSes())}


@dataclass
class FakeEsp:
    family: Family
    port: int = field(default_factory=free_port)
    # What every request gets unless a scripted answer is queued: "ok" or an Answer.
    mode: object = OK
    # After this many accepted messages, every request gets `down_answer`.
    down_after: int | None = None
    down_answer: Answer = field(default_factory=lambda: Answer(503, {"message": "down"}))
    # recipient -> answered with the family's recipient error.
    refused: set[str] = field(default_factory=set)
    requests: list[Request] = field(default_factory=list)
    accepted: list[Accepted] = field(default_factory=list)
    _script: list[object] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def credentials(self) -> dict:
        return self.family.credentials(self.url)

    def script(self, *answers: object) -> None:
        """Answers for the next requests, in order (then `mode` again)."""
        with self._lock:
            self._script.extend(answers)

    def answer_for(self, recipient: str, message_id: str) -> Answer:
        with self._lock:
            planned = self._script.pop(0) if self._script else self.mode
            if self.down_after is not None and len(self.accepted) >= self.down_after:
                planned = self.down_answer
        if recipient.lower() in self.refused:
            return self.family.recipient_error(recipient)
        if planned == OK:
            answer, provider_id = self.family.success(recipient)
            with self._lock:
                self.accepted.append(Accepted(recipient.lower(), message_id, provider_id))
            return answer
        return planned

    def distinct_ids_by_recipient(self) -> dict[str, set[str]]:
        """How receiving systems see it: one mail per distinct Message-ID."""
        ids: dict[str, set[str]] = defaultdict(set)
        for accepted in list(self.accepted):
            ids[accepted.recipient].add(accepted.message_id)
        return ids

    def requests_per_second(self) -> list[int]:
        seconds: dict[int, int] = defaultdict(int)
        for request in list(self.requests):
            seconds[int(request.at)] += 1
        return list(seconds.values())

    def start(self) -> None:
        esp = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recipient, message_id = esp.family.parse(self.headers["Content-Type"], body)
                with esp._lock:
                    esp.requests.append(
                        Request(self.path, dict(self.headers), recipient.lower(), message_id)
                    )
                if self.path != esp.family.path:
                    return self._reply(Answer(404, {"message": "not found"}))
                self._reply(esp.answer_for(recipient, message_id))

            def _reply(self, answer: Answer) -> None:
                if answer.hang_s:
                    time.sleep(answer.hang_s)
                payload = b"" if answer.body is None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture(name="fake_esp")
def fake_esp_fixture():
    """Starts fake ESP servers by family name ("mailgun", "postmark", "sendgrid")."""
    servers: list[FakeEsp] = []

    def start(family: str, **options) -> FakeEsp:
        server = FakeEsp(FAMILIES[family], **options)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def provider_account(kind: str, credentials: dict, **fields) -> ProviderAccount:
    account = ProviderAccount(name=fields.pop("name", f"{kind}-{uuid.uuid4().hex[:6]}"), kind=kind)
    account.credentials = credentials
    for name, value in fields.items():
        setattr(account, name, value)
    account.save()
    return account


def esp_account(esp: FakeEsp, **fields) -> ProviderAccount:
    """A provider account sending to this fake server."""
    return provider_account(esp.family.name, esp.credentials(), **fields)
