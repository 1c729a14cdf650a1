"""A real SMTP server for tests (aiosmtpd on 127.0.0.1): records every message it accepts,
can be made slow, and can refuse chosen recipients."""

import asyncio
import email
import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from email.message import Message as EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from tests.servers import free_port


@dataclass(frozen=True)
class Received:
    recipient: str
    message_id: str
    mail: EmailMessage

    def header(self, name: str) -> str:
        return str(self.mail.get(name, ""))

    def part(self, content_type: str) -> str:
        found = self.mail.get_body(preferencelist=(content_type.split("/")[1],))
        return found.get_content() if found else ""


@dataclass
class FakeSmtpServer:
    port: int = field(default_factory=free_port)
    # Seconds each DATA command takes, to let a test land a kill mid-send.
    delay_s: float = 0.0
    # recipient -> SMTP reply for RCPT TO, e.g. "550 5.1.1 no such user".
    refusals: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refusal = self.refusals.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        mail = email.message_from_bytes(envelope.content, policy=default_policy)
        with self._lock:
            for recipient in envelope.rcpt_tos:
                self.received.append(Received(recipient.lower(), str(mail["Message-ID"]), mail))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        # aiosmtpd logs every command at INFO: thousands of lines per test otherwise.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller:
            self._controller.stop()

    def messages(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def to(self, recipient: str) -> list[Received]:
        return [r for r in self.messages() if r.recipient == recipient.lower()]

    def distinct_ids_by_recipient(self) -> dict[str, set[str]]:
        """How receiving systems see it: one mail per distinct Message-ID."""
        ids: dict[str, set[str]] = defaultdict(set)
        for received in self.messages():
            ids[received.recipient].add(received.message_id)
        return ids


@pytest.fixture(name="smtp_server")
def smtp_server_fixture(settings):
    """A running fake SMTP server, and Django configured to send to it."""
    server = FakeSmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.stop()
