"""The webhook spool on the test database and Redis: replays store nothing twice, unstorable
entries are dead-lettered, one drainer at a time, and the operator's inspection. (PostgreSQL
stopped for real under a live server: tests/faults/test_postgres_down.py.)"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django_redis import get_redis_connection

from events import spool
from events.models import EmailEvent
from events.normalized import NormalizedEvent


def _event(n: int, **changes) -> NormalizedEvent:
    values = {
        "type": "delivered",
        "provider_event": "delivered",
        "recipient": f"r{n}@example.com",
        "message_id": f"msg-{n}",
        "provider_event_id": f"evt-{n}",
        "timestamp": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "raw": {"n": n, "nested": {"at": "2026-01-02T03:04:05Z", "ratio": 0.1}},
    }
    return NormalizedEvent.build(**{**values, **changes})


transactional = pytest.mark.django_db(transaction=True)


@transactional
def test_a_replayed_entry_stores_nothing_twice_and_keeps_received_at():
    received_at = datetime.now(UTC) - timedelta(minutes=10)
    events = [_event(1), _event(2), _event(3, timestamp=None)]
    spool.spool_append(provider="mandrill", events=events, received_at=received_at)

    first = spool.spool_drain()
    # The same entry again, as when a drainer died between commit and delete.
    spool.spool_append(provider="mandrill", events=events, received_at=received_at)
    second = spool.spool_drain()

    assert (first.entries, first.stored, first.duplicates) == (1, 3, 0)
    assert (second.entries, second.stored, second.duplicates) == (1, 0, 3)
    assert spool.spool_depth() == 0
    rows = EmailEvent.objects.order_by("message_id")
    assert [r.message_id for r in rows] == ["msg-1", "msg-2", "msg-3"]
    assert {r.received_at for r in rows} == {received_at}
    assert rows[2].timestamp == received_at, "no provider timestamp: the time it was received"
    assert {r.dedupe_key for r in rows} == {e.dedupe_key for e in events}


@transactional
def test_an_unstorable_entry_is_dead_lettered_without_blocking_the_rest():
    redis = get_redis_connection("default")
    redis.xadd(
        spool.spool_key(),
        {"provider": "mandrill", "received_at": "2026-01-02T03:04:05+00:00", "events": b"{"},
    )
    spool.spool_append(provider="mandrill", events=[_event(1)])

    result = spool.spool_drain()

    assert (result.entries, result.stored, result.dead, result.remaining) == (2, 1, 1, 0)
    assert EmailEvent.objects.count() == 1
    dead = spool.spool_inspect()["dead_letter"]
    assert dead["depth"] == 1
    assert dead["oldest"]["error"].startswith("JSONDecodeError")


@transactional
def test_a_second_drainer_leaves_the_spool_to_the_one_holding_the_lock():
    spool.spool_append(provider="mandrill", events=[_event(1)])
    redis = get_redis_connection("default")
    redis.set(spool.lock_key(), "another-drainer", px=5000)

    busy = spool.spool_drain()
    redis.delete(spool.lock_key())
    done = spool.spool_drain()

    assert (busy.busy, busy.entries, busy.remaining) == (True, 0, 1)
    assert (done.busy, done.stored, done.remaining) == (False, 1, 0)
    assert redis.get(spool.lock_key()) is None, "the lock is released"


@transactional
def test_inspect_prints_depth_and_oldest_entry_without_contents(capsys):
    spool.spool_append(provider="postmark", events=[_event(1), _event(2)], request_id="req-9")

    call_command("webhook_spool", "--inspect")

    out = capsys.readouterr().out
    report = json.loads(out)
    assert report["spool"]["depth"] == 1
    assert report["spool"]["oldest"]["provider"] == "postmark"
    assert report["spool"]["oldest"]["events"] == 2
    assert report["spool"]["oldest"]["request_id"] == "req-9"
    assert "example.com" not in out and "msg-1" not in out
    assert settings.REDIS_KEY_PREFIX in spool.spool_key()
