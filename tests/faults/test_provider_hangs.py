"""A provider that hangs (issue 8, fault 5): it accepts the connection and never answers.

Real Celery workers send a campaign through a hanging provider of first priority and a healthy
fake ESP of second. Every send to the hanging one times out within EMAIL_TIMEOUT. A message
whose request went out (HTTP) is ambiguous: it is retried later, and that retry goes to the
other provider (mailer.providers.router); a hanging SMTP greeting fails over at once. The
breaker is kept out of the way (it would open after a few timeouts and send the rest straight
to the other provider) so that every message meets the hanging provider: each waits on it
once, ends sent through the healthy provider exactly once, and no worker is left waiting.
"""

import re
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field

import pytest

from config.celery import app
from mailer.models import Campaign, Message
from mailer.services.sending import campaign_start_send
from tests.celery_workers import celery_workers_fixture  # noqa: F401
from tests.mailer.campaign_factories import audience, campaign
from tests.mailer.fake_esp import esp_account, fake_esp_fixture, provider_account  # noqa: F401
from tests.servers import free_port, wait_until

RECIPIENTS = 8
CHUNK = 1  # each message retried on its own
EMAIL_TIMEOUT_S = 2
# Two timeouts per worker process, the first chunk retry (15 s), and room for a busy machine.
ALL_SENT_WITHIN_S = 90
MESSAGE_ID = re.compile(rb"<[0-9a-f-]+@mailpulse>")


@dataclass
class HangingServer:
    """Accepts every TCP connection, reads what the client sends, never answers; notes when
    the client gives up (closes its end)."""

    port: int = field(default_factory=free_port)
    received: list[bytes] = field(default_factory=list)
    connections: int = 0
    closed_by_client: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _listener: socket.socket | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port), backlog=64)
        self._listener.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._hold, args=(client,), daemon=True).start()

    def _hold(self, client: socket.socket) -> None:
        client.settimeout(0.2)
        with client:
            while not self._stop.is_set():
                try:
                    data = client.recv(65536)
                except TimeoutError:
                    continue
                with self._lock:
                    if not data:
                        self.closed_by_client += 1
                        return
                    self.received.append(data)

    def message_ids(self) -> Counter:
        """Our Message-IDs in the requests it got (none for SMTP: no greeting, no mail)."""
        with self._lock:
            raw = b"".join(self.received)
        return Counter(found.decode() for found in MESSAGE_ID.findall(raw))

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
            self._listener.close()


@pytest.fixture
def hanging_server():
    server = HangingServer()
    server.start()
    yield server
    server.stop()


def _hanging_account(kind: str, server: HangingServer):
    credentials = {
        "postmark": {"server_token": "token-test", "api_url": f"{server.url}/"},
        "smtp": {"host": "127.0.0.1", "port": str(server.port)},
    }[kind]
    return provider_account(kind, credentials, priority=1)


def _idle_workers() -> int:
    """Workers that answer and run no task."""
    active = app.control.inspect(timeout=2).active() or {}
    return sum(tasks == [] for tasks in active.values())


def _unfinished(target: Campaign) -> int:
    return Message.objects.filter(campaign=target, status__in=["queued", "sending"]).count()


@pytest.mark.parametrize("kind", ["postmark", "smtp"])
def test_hanging_provider_times_out_and_every_message_is_sent_once_by_the_other(
    kind, hanging_server, fake_esp, celery_workers, settings
):
    healthy = fake_esp("mailgun")
    _hanging_account(kind, hanging_server)
    esp_account(healthy, priority=2)
    workers = celery_workers(
        EMAIL_TIMEOUT_S=str(EMAIL_TIMEOUT_S),
        PROVIDER_BREAKER_FAILURES="1000",
    )
    processes = [workers.start(concurrency=2), workers.start(concurrency=2)]
    for process in processes:
        workers.wait_ready(process)
    settings.SEND_CHUNK_SIZE = CHUNK
    target = campaign_start_send(campaign=campaign(lists=[audience(RECIPIENTS)]))

    wait_until(lambda: _unfinished(target) == 0, ALL_SENT_WITHIN_S, "every message sent")
    wait_until(lambda: Campaign.objects.get(pk=target.pk).status == "sent", 10, "campaign sent")

    messages = Message.objects.filter(campaign=target)
    assert Counter(messages.values_list("status", "provider")) == {("sent", "mailgun"): RECIPIENTS}
    ours = {f"<{uid}@mailpulse>" for uid in messages.values_list("uid", flat=True)}
    accepted = Counter(a.message_id for a in healthy.accepted)
    assert set(accepted) == ours
    assert set(accepted.values()) == {1}, "the healthy provider sent each message once"
    assert hanging_server.connections == RECIPIENTS, "each message waited on it once"
    # An SMTP client never gets as far as sending the message (no greeting).
    expected_requests = Counter() if kind == "smtp" else Counter(ours)
    assert hanging_server.message_ids() == expected_requests, "each request went out once"
    # No worker is left waiting: each gave up its connections and runs nothing.
    wait_until(
        lambda: hanging_server.closed_by_client == hanging_server.connections,
        10,
        "every connection to the hanging provider closed by its worker",
    )
    wait_until(lambda: _idle_workers() == len(processes), 20, "both workers idle")
