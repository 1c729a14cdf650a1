"""PostgreSQL down (issue 8, fault 1): nothing acknowledged is lost.

Stops a real PostgreSQL of its own under a live daphne, posts 1,000 events from several
providers, starts PostgreSQL again and drains the spool with the operator's command (two at
once). The spool functions themselves: tests/events/test_spool.py.
"""

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from websockets.sync.client import connect

from tests.events.signed_providers import (
    BASIC_AUTH,
    mailgun_body,
    mailgun_event_data,
    postmark_event,
    sendgrid_event,
    sendgrid_headers,
    sendgrid_key_pair,
)
from tests.events.webhook_helpers import mandrill_event, mandrill_signature
from tests.servers import ROOT, PostgresServer, wait_until

MANDRILL_KEY = "mandrill-spool-key"
MAILGUN_KEY = "mailgun-spool-key"


def _product_env(database_url: str, redis_url: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
    }


def _manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def postgres():
    server = PostgresServer()
    server.init()
    yield server
    server.remove()


# --- the 1,000 events, as the providers post them


def _mandrill_requests(base: str, batches: int, size: int) -> list[dict]:
    url = f"{base}/api/hook/mandrill/"
    requests = []
    for b in range(batches):
        events = [
            mandrill_event("delivered", email=f"m{b}-{i}@example.com", message_id=f"mdr-{b}-{i}")
            for i in range(size)
        ]
        params = {"mandrill_events": json.dumps(events)}
        signature = mandrill_signature(MANDRILL_KEY, url, params)
        requests.append(
            {"url": url, "data": params, "headers": {"X-Mandrill-Signature": signature}}
        )
    return requests


def _sendgrid_requests(base: str, private_key, batches: int, size: int) -> list[dict]:
    requests = []
    for b in range(batches):
        events = [
            sendgrid_event("open", email=f"s{b}-{i}@example.com", sg_event_id=f"sg-{b}-{i}")
            for i in range(size)
        ]
        body = json.dumps(events).encode()
        headers = {
            name.removeprefix("HTTP_").replace("_", "-"): value
            for name, value in sendgrid_headers(private_key, body).items()
        }
        headers["Content-Type"] = "application/json"
        requests.append({"url": f"{base}/api/hook/sendgrid/", "content": body, "headers": headers})
    return requests


def _mailgun_requests(base: str, count: int) -> list[dict]:
    """One event per post; verifying remembers the token in Redis, not PostgreSQL."""
    return [
        {
            "url": f"{base}/api/hook/mailgun/",
            "json": mailgun_body(
                mailgun_event_data("delivered", recipient=f"g{i}@example.com", event_id=f"g-{i}"),
                MAILGUN_KEY,
            ),
        }
        for i in range(count)
    ]


def _postmark_requests(base: str, count: int) -> list[dict]:
    user, password = BASIC_AUTH.split(":")
    return [
        {
            "url": f"{base}/api/hook/postmark/",
            "json": postmark_event("Bounce", recipient=f"p{i}@example.com", message_id=f"pm-{i}"),
            "auth": (user, password),
        }
        for i in range(count)
    ]


class Dashboard:
    """A dashboard's websocket in a thread: adds up the `counts` of every live frame."""

    def __init__(self, url: str, token: str):
        self.total = 0
        self.snapshot_total: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, args=(url, token), daemon=True)
        self._thread.start()

    def _listen(self, url: str, token: str) -> None:
        try:
            with connect(
                url.replace("http://", "ws://") + "/ws/email/",
                origin=url,
                additional_headers={"Authorization": f"Token {token}"},
            ) as socket:
                while not self._stop.is_set():
                    try:
                        message = socket.recv(timeout=0.2)
                    except TimeoutError:
                        continue
                    self._count(json.loads(message))
        except Exception:  # closed by the server
            return

    def _count(self, frame: dict) -> None:
        if frame["type"] == "snapshot":
            self.snapshot_total = sum(frame["counters"]["types"].values())
        elif frame["type"] == "events" and not frame.get("replay"):
            self.total += sum(frame["counts"]["types"].values())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


def test_postgres_down_1000_events_are_spooled_then_stored_once_and_broadcast(
    postgres, redis_server, daphne_factory
):
    env = _product_env(postgres.url, redis_server.url)
    _manage(env, "migrate", "-v", "0")
    _manage(env, "rebuild_live")  # a live view to trust, as the beat task builds on a new install
    token = _manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model;"
        "from rest_framework.authtoken.models import Token;"
        "u = get_user_model().objects.create_user('ops', password='pw-ops-12345');"
        "print(Token.objects.create(user=u).key)",
    ).split()[-1]
    private_key, public_key = sendgrid_key_pair()
    server = daphne_factory(
        DATABASE_URL=postgres.url,
        REDIS_URL=redis_server.url,
        MANDRILL_WEBHOOK_KEY=MANDRILL_KEY,
        SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY=public_key,
        MAILGUN_WEBHOOK_SIGNING_KEY=MAILGUN_KEY,
        WEBHOOK_SECRET=BASIC_AUTH,
    )
    dashboard = Dashboard(server.url, token)
    wait_until(lambda: dashboard.snapshot_total == 0, what="the dashboard's snapshot")

    postgres.stop()
    requests = (
        _mandrill_requests(server.url, batches=10, size=50)
        + _sendgrid_requests(server.url, private_key, batches=5, size=60)
        + _postmark_requests(server.url, count=100)
        + _mailgun_requests(server.url, count=100)
    )
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda r: client.post(**r), requests))

    assert [a.status_code for a in answers] == [200] * len(requests)
    bodies = [a.json() for a in answers]
    assert all(b["spooled"] and b["stored"] == 0 and b["verified"] for b in bodies)
    assert len({b["spool_id"] for b in bodies}) == len(requests) == 215
    health = httpx.get(f"{server.url}/healthz", timeout=10)
    assert health.status_code == 503
    assert health.json() == {"database": "down", "redis": "ok", "spool": 215}
    # The operator's view: depth and oldest entry, never the contents or credentials.
    inspected = _manage(env, "webhook_spool", "--inspect")
    report = json.loads(inspected)
    assert report["spool"]["depth"] == 215
    assert report["spool"]["oldest"]["provider"] in {"mandrill", "sendgrid", "postmark", "mailgun"}
    assert report["dead_letter"] == {"depth": 0, "oldest": None}
    for secret in ("hook-pw-123", MANDRILL_KEY, MAILGUN_KEY, "@example.com", "Token", "Signature"):
        assert secret not in inspected

    postgres.start()
    drained_at = datetime.now(UTC)
    # Two drainers at once: each event is stored once whichever replays it.
    drainers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "webhook_spool", "--drain"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [drainer.communicate(timeout=60) for drainer in drainers]
    assert [d.returncode for d in drainers] == [0, 0], outputs
    # A drainer that found the other one running leaves the rest to it; drain once more
    # to be sure nothing is left, as the beat task would.
    _manage(env, "webhook_spool", "--drain")

    with psycopg.connect(postgres.url) as db:
        total, distinct, late = db.execute(
            "SELECT count(*), count(DISTINCT (provider, dedupe_key)),"
            " count(*) FILTER (WHERE received_at >= %s) FROM events_emailevent",
            [drained_at],
        ).fetchone()
        by_provider = dict(
            db.execute(
                "SELECT provider, count(*) FROM events_emailevent GROUP BY provider"
            ).fetchall()
        )
    assert (total, distinct) == (1000, 1000)
    assert late == 0, "replayed events keep the time they were received"
    assert by_provider == {"mandrill": 500, "sendgrid": 300, "postmark": 100, "mailgun": 100}
    assert json.loads(_manage(env, "webhook_spool", "--inspect"))["spool"]["depth"] == 0

    wait_until(lambda: dashboard.total >= 1000, timeout_s=20, what="frames for 1,000 events")
    time.sleep(0.3)
    assert dashboard.total == 1000
    dashboard.close()
    live = httpx.get(
        f"{server.url}/api/events/live/", headers={"Authorization": f"Token {token}"}, timeout=10
    ).json()
    assert live["counters"]["providers"] == by_provider
    assert httpx.get(f"{server.url}/healthz", timeout=10).json() == {
        "database": "ok",
        "redis": "ok",
        "spool": 0,
    }
