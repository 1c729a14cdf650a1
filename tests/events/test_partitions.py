"""The events table partitioned by month: where rows land, dedupe across months, and the
operators' command."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from events.models import EmailEvent, EventKey
from events.partitions import (
    DEFAULT_PARTITION,
    add_months,
    month_start,
    partition_create,
    partition_name,
)
from events.services import events_ingest
from tests.events.factories import ingest, normalized

pytestmark = pytest.mark.django_db


def partition_of(event: EmailEvent) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM events_emailevent WHERE id = %s", [event.pk]
        )
        return cursor.fetchone()[0]


def test_events_land_in_the_partition_of_their_month():
    now = datetime.now(UTC)
    recent = ingest(timestamp=now - timedelta(seconds=1))[0]
    last_month = ingest(timestamp=add_months(month_start(now), -1) + timedelta(days=3))[0]

    assert partition_of(recent) == partition_name(month_start(recent.timestamp))
    assert partition_of(last_month) == partition_name(add_months(month_start(now), -1))


@pytest.mark.parametrize("moment", ["1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_event_times_no_month_holds_go_to_the_default_partition(api_client, moment):
    stored = ingest(timestamp=datetime.fromisoformat(moment))[0]

    assert partition_of(stored) == DEFAULT_PARTITION
    response = api_client.get(f"/api/events/{stored.pk}/")
    assert response.status_code == 200
    assert response.json()["timestamp"] == moment


def test_retry_with_another_time_in_another_month_is_a_duplicate():
    first = normalized(
        provider_event_id="evt-1",
        recipient="ada@example.com",
        timestamp=datetime.now(UTC) - timedelta(days=40),
    )
    # No provider time: stored with its arrival time, so in this month's partition.
    retry = normalized(provider_event_id="evt-1", recipient="ada@example.com", timestamp=None)
    assert first.dedupe_key == retry.dedupe_key

    stored = events_ingest(provider="mandrill", events=[first]).stored
    again = events_ingest(provider="mandrill", events=[retry])

    assert len(stored) == 1 and again.stored == [] and again.duplicates == 1
    assert list(EmailEvent.objects.values_list("pk", flat=True)) == [stored[0].pk]
    assert EventKey.objects.filter(provider="mandrill", dedupe_key=first.dedupe_key).count() == 1


def test_retry_of_an_event_in_the_default_partition_is_a_duplicate():
    garbage = normalized(provider_event_id="evt-2", timestamp=datetime(1970, 1, 1, tzinfo=UTC))
    retry = normalized(provider_event_id="evt-2", recipient=garbage.recipient)

    events_ingest(provider="sendgrid", events=[garbage])
    again = events_ingest(provider="sendgrid", events=[retry])

    assert again.duplicates == 1 and EmailEvent.objects.count() == 1


def test_same_key_from_two_providers_is_two_events():
    one = normalized(provider_event_id="evt-3", recipient="x@example.com")

    events_ingest(provider="mandrill", events=[one])
    events_ingest(provider="postmark", events=[one])

    assert sorted(EmailEvent.objects.values_list("provider", flat=True)) == [
        "mandrill",
        "postmark",
    ]


def test_batch_ids_follow_the_batch_order():
    batch = [normalized(type=t, provider_event=t) for t in ("sent", "delivered", "opened")]

    stored = events_ingest(provider="mandrill", events=batch).stored

    rows = EmailEvent.objects.filter(pk__in=[e.pk for e in stored]).order_by("id")
    assert [e.type for e in rows] == ["sent", "delivered", "opened"]


def test_creating_a_month_moves_its_events_out_of_the_default_partition(api_client):
    future = add_months(month_start(datetime.now(UTC)), 6)
    waiting = ingest(timestamp=future + timedelta(days=2))[0]
    assert partition_of(waiting) == DEFAULT_PARTITION

    assert partition_create(future) is True
    assert partition_create(future) is False  # already there: nothing to do

    assert partition_of(waiting) == partition_name(future)
    assert api_client.get(f"/api/events/{waiting.pk}/").status_code == 200


def test_command_lists_partitions_with_row_estimates():
    out = StringIO()

    call_command("event_partitions", "--list", stdout=out)

    lines = out.getvalue().splitlines()
    this_month = partition_name(month_start(datetime.now(UTC)))
    assert any(line.startswith(this_month) for line in lines)
    assert lines[-1].startswith(DEFAULT_PARTITION) and "DEFAULT" in lines[-1]
    assert all(" rows" in line or "not analyzed" in line for line in lines)


def test_command_ensure_reports_what_it_created():
    out = StringIO()

    call_command("event_partitions", "--ensure", stdout=out)

    # The migration already made every month from the retention horizon to 3 months ahead.
    assert out.getvalue().strip() == "Partitions created: none"


def test_admin_event_list_pages_without_counting_the_table(client, django_user_model):
    admin_user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-1")
    client.force_login(admin_user)
    stored = ingest(types=["bounced"], recipient="ada@example.com")[0]

    listed = client.get("/admin/events/emailevent/")
    filtered = client.get("/admin/events/emailevent/?type__exact=bounced")

    assert listed.status_code == 200 and "ada@example.com" in listed.text
    assert filtered.status_code == 200 and f"/admin/events/emailevent/{stored.pk}/" in filtered.text
