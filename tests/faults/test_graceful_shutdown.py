"""Graceful shutdown (issue 9, item 7): SIGTERM to a web server (`manage.py serve`) closes
every websocket with 1001 "going away", so dashboards reconnect elsewhere at once, and exits 0;
SIGTERM to a Celery worker finishes its current chunks and returns the rest to the queue."""

import os
import signal
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from mailer.models import Campaign, Message
from mailer.services.sending import campaign_start_send
from tests.celery_workers import celery_workers_fixture  # noqa: F401
from tests.mailer.campaign_factories import audience, campaign
from tests.mailer.smtp_server import smtp_server_fixture  # noqa: F401
from tests.servers import DaphneServer, child_pids, connections_served, wait_until

GRACE_S = 10
CLOSE_GOING_AWAY = 1001
RECIPIENTS = 1000
CHUNK_SIZE = 50
SMTP_DELAY_S = 0.005
SEND_TIMEOUT_S = 90


@pytest.fixture
def token(transactional_db) -> str:
    user = get_user_model().objects.create_user("wall", "wall@example.com", "pw-wall-12345")
    return Token.objects.create(user=user).key


@pytest.fixture
def sockets():
    with ExitStack() as stack:
        yield stack


def _dashboard(sockets: ExitStack, server: DaphneServer, token: str) -> ClientConnection:
    socket = sockets.enter_context(
        connect(
            f"ws://127.0.0.1:{server.port}/ws/email/",
            origin=server.url,
            additional_headers={"Authorization": f"Token {token}"},
            open_timeout=30,
        )
    )
    assert '"snapshot"' in socket.recv(timeout=30)
    return socket


def _close_code(socket: ClientConnection) -> int | None:
    """The code the server closed the socket with (None: the connection just dropped)."""
    try:
        while True:
            socket.recv(timeout=GRACE_S)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def test_sigterm_closes_each_websocket_with_going_away_and_exits_0(daphne_factory, token, sockets):
    server = daphne_factory(SHUTDOWN_GRACE_S=str(GRACE_S))
    dashboards = [_dashboard(sockets, server, token) for _ in range(3)]

    server.process.send_signal(signal.SIGTERM)

    codes = [_close_code(socket) for socket in dashboards]
    assert codes == [CLOSE_GOING_AWAY] * 3, server.output()[-3000:]
    assert server.process.wait(GRACE_S + 20) == 0


def test_sigterm_to_the_parent_closes_the_websockets_of_every_child(daphne_factory, token, sockets):
    server = daphne_factory(processes=2, SHUTDOWN_GRACE_S=str(GRACE_S))
    wait_until(lambda: len(child_pids(server.process.pid)) == 2, 30, "two server processes")
    children = child_pids(server.process.pid)
    dashboards = []

    def each_child_serves_one() -> bool:
        dashboards.append(_dashboard(sockets, server, token))
        return all(connections_served(child, server.port) for child in children)

    wait_until(each_child_serves_one, 60, "a websocket on each child")

    server.process.send_signal(signal.SIGTERM)

    codes = {_close_code(socket) for socket in dashboards}
    assert codes == {CLOSE_GOING_AWAY}
    assert server.process.wait(GRACE_S + 20) == 0
    assert not [child for child in children if Path(f"/proc/{child}").exists()]


def test_a_child_that_dies_stops_the_others_and_the_parent_exits_1(daphne_factory):
    server = daphne_factory(processes=2)
    wait_until(lambda: len(child_pids(server.process.pid)) == 2, 30, "two server processes")
    first, last = child_pids(server.process.pid)

    os.kill(last, signal.SIGKILL)  # the one the parent looks at last

    assert server.process.wait(30) == 1
    assert not Path(f"/proc/{first}").exists(), "the other process was left serving"


def _unfinished(target: Campaign) -> int:
    return Message.objects.filter(campaign=target, status__in=["queued", "sending"]).count()


def test_sigterm_to_a_worker_mid_send_finishes_its_chunks_and_returns_the_rest(
    celery_workers, smtp_server, settings
):
    workers = celery_workers(EMAIL_URL=smtp_server.url)
    smtp_server.delay_s = SMTP_DELAY_S
    settings.SEND_CHUNK_SIZE = CHUNK_SIZE
    target = campaign_start_send(campaign=campaign(lists=[audience(RECIPIENTS)]), requested_by=None)
    first = workers.start(concurrency=2)
    wait_until(lambda: len(smtp_server.messages()) >= RECIPIENTS // 4, 60, "a quarter sent")

    first.send_signal(signal.SIGTERM)
    assert first.wait(SEND_TIMEOUT_S) == 0, workers.output(first)[-3000:]

    sent_by_first = len(smtp_server.messages())
    assert sent_by_first < RECIPIENTS, "the SIGTERM landed after the send"
    assert Message.objects.filter(campaign=target, status="sending").count() == 0
    assert Message.objects.filter(campaign=target, status="sent").count() == sent_by_first
    # The rest went back to the queue: a new worker gets it long before any visibility timeout.
    workers.start(concurrency=2)
    wait_until(lambda: _unfinished(target) == 0, SEND_TIMEOUT_S, "every message finished")
    wait_until(lambda: Campaign.objects.get(pk=target.pk).status == "sent", 10, "campaign sent")

    assert len(smtp_server.messages()) == RECIPIENTS
    ids = smtp_server.distinct_ids_by_recipient()
    expected = {e.lower() for e in target.messages.values_list("email", flat=True)}
    assert set(ids) == expected
    assert {recipient for recipient, found in ids.items() if len(found) != 1} == set()
