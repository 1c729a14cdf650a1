"""Retention: old months dropped, the DEFAULT partition, dedupe keys and webhook nonces pruned,
while webhooks keep arriving. Transactional: maintenance commits its own short transactions,
as it does in production."""

import threading
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from events.models import EmailEvent, EventKey, WebhookNonce
from events.partitions import (
    DEFAULT_PARTITION,
    add_months,
    month_start,
    partition_create,
    partition_drop,
    partition_month,
    partition_name,
    partitions_list,
)
from events.retention import MONTHS_AHEAD, events_prune, partitions_ensure
from events.retention_tasks import maintain_event_storage
from events.services import events_ingest
from tests.events.factories import ingest, normalized

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _partitions_restored():
    """DDL outlives the test's flush: put the migration's months back afterwards."""
    before = {p.name for p in partitions_list()}
    yield
    after = {p.name for p in partitions_list()}
    for name in after - before:
        partition_drop(name)
    for name in before - after:
        partition_create(partition_month(name))


def _names() -> set[str]:
    return {p.name for p in partitions_list()}


def test_old_month_is_dropped_and_recent_events_stay_visible(api_client):
    now = datetime.now(UTC)
    old_month = add_months(month_start(now), -6)
    partition_create(old_month)
    old = ingest(timestamp=old_month + timedelta(days=1))[0]
    recent = ingest(timestamp=now - timedelta(minutes=5))[0]

    result = events_prune()

    assert result.dropped == [partition_name(old_month)]
    assert partition_name(old_month) not in _names()
    listed = [e["id"] for e in api_client.get("/api/events/").json()["results"]]
    assert listed == [recent.pk]
    assert api_client.get(f"/api/events/{old.pk}/").status_code == 404
    # Its key stays until it was received longer ago than retention: a retry is no new event.
    retry = normalized(
        provider_event_id=old.provider_event_id, recipient=old.recipient, timestamp=None
    )
    assert events_ingest(provider="mandrill", events=[retry]).duplicates == 1


def test_default_partition_rows_past_retention_are_pruned_and_retries_still_deduped():
    far_past = ingest(timestamp=datetime(1970, 1, 1, tzinfo=UTC))[0]
    far_future = ingest(timestamp=datetime(9999, 1, 1, tzinfo=UTC))
    received_long_ago = ingest(timestamp=datetime(9998, 1, 1, tzinfo=UTC))[0]
    long_ago = datetime.now(UTC) - timedelta(days=200)
    EmailEvent.objects.filter(pk=received_long_ago.pk).update(received_at=long_ago)
    EventKey.objects.filter(dedupe_key=received_long_ago.dedupe_key).update(received_at=long_ago)

    result = events_prune()

    assert result.default_rows == 2
    assert list(EmailEvent.objects.values_list("pk", flat=True)) == [far_future[0].pk]
    # The 1970 event was received just now: a provider retrying it is still a duplicate.
    retry = normalized(
        provider_event_id=far_past.provider_event_id,
        recipient=far_past.recipient,
        timestamp=far_past.timestamp,
    )
    assert events_ingest(provider="mandrill", events=[retry]).duplicates == 1
    assert result.keys == 1  # only the key of the event received 200 days ago


def test_webhook_nonces_past_the_replay_window_are_pruned(settings):
    settings.WEBHOOK_MAX_AGE_S = 900
    stale = WebhookNonce.objects.create(provider="mailgun", token="a" * 50, body_hash="x")
    fresh = WebhookNonce.objects.create(provider="mailgun", token="b" * 50, body_hash="y")
    WebhookNonce.objects.filter(pk=stale.pk).update(
        seen_at=datetime.now(UTC) - timedelta(seconds=2 * 900 + 60)
    )

    result = events_prune()

    assert result.nonces == 1
    assert list(WebhookNonce.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_maintenance_while_webhooks_arrive_loses_nothing():
    """Batches keep arriving for this month and for a month that is in the DEFAULT partition
    until maintenance (run as if two months later) creates it and moves its rows."""
    now = datetime.now(UTC)
    later = add_months(month_start(now), 2) + timedelta(days=1)
    new_month = add_months(month_start(later), MONTHS_AHEAD)
    assert partition_name(new_month) not in _names()
    stored: list[int] = []
    failures: list[BaseException] = []
    sending, maintenance_done = threading.Event(), threading.Event()

    def webhooks() -> None:
        try:
            for n in range(1000):
                if maintenance_done.is_set() and n >= 40:
                    break
                times = [new_month + timedelta(hours=n), now - timedelta(seconds=n)]
                batch = [normalized(timestamp=t) for t in times]
                stored.extend(e.pk for e in events_ingest(provider="mandrill", events=batch).stored)
                sending.set()
        except BaseException as error:  # reported by the main thread
            failures.append(error)
        finally:
            sending.set()
            connection.close()

    sender = threading.Thread(target=webhooks)
    sender.start()
    assert sending.wait(timeout=60)
    try:
        ensured = partitions_ensure(now=later)
        pruned = events_prune(now=later)
    finally:
        maintenance_done.set()
        sender.join(timeout=120)

    assert not failures and not ensured.busy and not pruned.busy
    assert partition_name(new_month) in ensured.created
    assert len(stored) >= 80 and sorted(stored) == sorted(
        EmailEvent.objects.values_list("pk", flat=True)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {DEFAULT_PARTITION}")  # noqa: S608 (constant)
        assert cursor.fetchone()[0] == 0


def test_two_maintenance_runs_at_once_create_each_month_once():
    later = add_months(month_start(datetime.now(UTC)), 4) + timedelta(days=1)
    results = []

    def run() -> None:
        try:
            results.append(partitions_ensure(now=later))
        finally:
            connection.close()

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=120)

    created = [name for result in results for name in result.created]
    assert len(results) == 2 and len(created) == len(set(created)) == 4


def test_command_prune_reports_what_it_removed():
    old_month = add_months(month_start(datetime.now(UTC)), -8)
    partition_create(old_month)
    out = StringIO()

    call_command("event_partitions", "--prune", stdout=out)

    text = out.getvalue()
    assert "Retention horizon:" in text
    assert f"Partitions dropped: {partition_name(old_month)}\n" in text
    assert "Pruned 0 events from the DEFAULT partition, 0 dedupe keys, 0 webhook nonces" in text


def test_hourly_beat_job_recreates_a_missing_month_ahead(settings):
    ahead = add_months(month_start(datetime.now(UTC)), MONTHS_AHEAD)
    partition_drop(partition_name(ahead))
    entry = settings.CELERY_BEAT_SCHEDULE["maintain-event-storage"]
    assert entry == {"task": "events.retention_tasks.maintain_event_storage", "schedule": 3600.0}
    assert "events.retention_tasks" in settings.CELERY_IMPORTS

    maintain_event_storage()

    assert partition_name(ahead) in _names()
