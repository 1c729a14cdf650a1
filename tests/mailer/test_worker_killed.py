"""Real Celery workers killed mid-send: no recipient gets two different mails, none is skipped.

The fake SMTP server counts distinct Message-IDs per recipient, as receiving systems dedupe;
a message the server accepted just as its worker died is sent again with the same id (see
mailer.services.messages), so it may arrive twice at the server but is one mail.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_redis import get_redis_connection

from config.celery import app
from mailer.models import Campaign, Message
from mailer.services.sending import campaign_start_send
from tests.mailer.campaign_factories import audience, campaign
from tests.mailer.smtp_server import smtp_server_fixture  # noqa: F401
from tests.servers import ROOT, database_url_for_tests, wait_until

RECIPIENTS = 2000
SMTP_DELAY_S = 0.002
SEND_TIMEOUT_S = 90


class Workers:
    """Celery worker processes on the test database and broker, each in its own session so
    the whole process group (main process and pool children) can be killed at once."""

    def __init__(self, smtp_url: str) -> None:
        self.smtp_url = smtp_url
        self.processes: list[subprocess.Popen] = []

    def start(self, concurrency: int = 4) -> subprocess.Popen:
        n = len(self.processes)
        log = Path(ROOT / ".run" / f"celery-killtest-{os.getpid()}-{n}.log")
        log.parent.mkdir(exist_ok=True)
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "DATABASE_URL": database_url_for_tests(),
            "REDIS_URL": settings.REDIS_URL,
            "REDIS_TEST_DB": str(settings.REDIS_TEST_DB),
            "TEST_DB_NAME": connection.settings_dict["NAME"],
            "EMAIL_URL": self.smtp_url,
        }
        command = [sys.executable, "-m", "celery", "-A", "config", "worker"]
        options = ["--pool=prefork", f"--concurrency={concurrency}", "--loglevel=INFO"]
        options += ["--without-gossip", "--without-mingle", "-n", f"killtest{n}@%h"]
        process = subprocess.Popen(
            command + options,
            cwd=ROOT,
            env=environment,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def kill_all(self) -> None:
        for process in self.processes:
            self.kill(process)


@pytest.fixture
def workers(transactional_db, smtp_server):
    """Workers started by the test; all of them killed at the end, whatever happened."""
    get_redis_connection("default").flushdb()  # an empty queue: nothing left from elsewhere
    started = Workers(smtp_server.url)
    yield started
    started.kill_all()


def _start_campaign(settings_fixture) -> Campaign:
    settings_fixture.SEND_CHUNK_SIZE = 100
    target = campaign(lists=[audience(RECIPIENTS)])
    # transactional_db: the start commits, and its chunks are enqueued on commit.
    return campaign_start_send(campaign=target, requested_by=None)


def _unfinished(target: Campaign) -> int:
    return Message.objects.filter(campaign=target, status__in=["queued", "sending"]).count()


def _restore_unacked() -> int:
    """What the broker does once the visibility timeout of a dead worker's chunks passes."""
    with app.connection_for_write() as broker:
        qos = broker.default_channel.qos
        with qos.channel.conn_or_acquire() as client:
            tags = client.hkeys(qos.unacked_key)
            for tag in tags:
                qos.restore_by_tag(tag, client)
    return len(tags)


def _assert_each_recipient_got_exactly_one_mail(target: Campaign, smtp_server) -> None:
    target.refresh_from_db()
    assert target.status == "sent"
    statuses = set(Message.objects.filter(campaign=target).values_list("status", flat=True))
    assert statuses == {"sent"}
    ids = smtp_server.distinct_ids_by_recipient()
    expected = {e.lower() for e in target.messages.values_list("email", flat=True)}
    assert set(ids) == expected
    several = {recipient: found for recipient, found in ids.items() if len(found) != 1}
    assert several == {}
    uids = {f"<{uid}@mailpulse>" for uid in target.messages.values_list("uid", flat=True)}
    assert {next(iter(found)) for found in ids.values()} == uids


def test_whole_worker_killed_mid_send_and_restarted_sends_each_recipient_once(
    workers, smtp_server, settings
):
    smtp_server.delay_s = SMTP_DELAY_S
    target = _start_campaign(settings)
    first = workers.start()
    wait_until(lambda: len(smtp_server.messages()) >= RECIPIENTS // 3, 60, "a third sent")
    workers.kill(first)
    killed_at = len(smtp_server.messages())
    assert killed_at < RECIPIENTS, "the kill landed after the send"
    assert _restore_unacked() >= 1, "the dead worker held no chunk"

    workers.start()
    started = time.monotonic()
    wait_until(lambda: _unfinished(target) == 0, SEND_TIMEOUT_S, "every message finished")
    wait_until(lambda: Campaign.objects.get(pk=target.pk).status == "sent", 10, "campaign sent")

    _assert_each_recipient_got_exactly_one_mail(target, smtp_server)
    resent = len(smtp_server.messages()) - RECIPIENTS
    print(
        f"killed after {killed_at} accepted; {resent} re-sent with the same Message-ID; "
        f"{RECIPIENTS - killed_at} sent by the new worker in {time.monotonic() - started:.1f}s"
    )


def test_pool_process_killed_mid_send_is_redelivered_and_sends_each_recipient_once(
    workers, smtp_server, settings
):
    smtp_server.delay_s = SMTP_DELAY_S
    target = _start_campaign(settings)
    worker = workers.start(concurrency=2)
    wait_until(lambda: len(smtp_server.messages()) >= RECIPIENTS // 3, 60, "a third sent")
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    assert children, "no pool processes"
    for child in children:
        os.kill(int(child), signal.SIGKILL)  # the main process sees them lost and requeues

    wait_until(lambda: _unfinished(target) == 0, SEND_TIMEOUT_S, "every message finished")
    wait_until(lambda: Campaign.objects.get(pk=target.pk).status == "sent", 10, "campaign sent")
    _assert_each_recipient_got_exactly_one_mail(target, smtp_server)
