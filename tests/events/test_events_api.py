from datetime import UTC, datetime, timedelta

import pytest
from django_redis import get_redis_connection

from events import redis_keys
from events.models import EmailEvent
from events.services import live_view_rebuild
from mailer.models import Campaign
from tests.events.factories import ingest, normalized

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _ids(response) -> list[int]:
    return [e["id"] for e in response.json()["results"]]


def test_list_is_newest_first_with_every_documented_field(api_client):
    older = ingest(timestamp=T0)[0]
    newer = ingest(timestamp=T0 + timedelta(minutes=1))[0]

    response = api_client.get("/api/events/")

    assert response.status_code == 200
    assert _ids(response) == [newer.id, older.id]
    first = response.json()["results"][0]
    assert set(first) >= {
        "id", "provider", "type", "provider_event", "recipient", "message_id",
        "provider_event_id", "timestamp", "received_at", "campaign", "tags", "metadata",
        "description", "url",
    }  # fmt: skip
    assert first["timestamp"] == "2026-11-22T12:01:00Z"


def test_filters_by_type_provider_recipient_campaign_message_and_time(api_client):
    campaign = Campaign.objects.create(name="Autumn")
    bounced = ingest(types=["bounced"], recipient="Ada@Example.com", timestamp=T0)[0]
    ingest(provider="postmark", types=["opened"], timestamp=T0 + timedelta(hours=1))
    linked = ingest(types=["clicked"], metadata={"campaign_id": str(campaign.pk)})[0]

    assert _ids(api_client.get("/api/events/?type=bounced")) == [bounced.id]
    assert _ids(api_client.get("/api/events/?type=bounced,clicked")) == [linked.id, bounced.id]
    assert len(_ids(api_client.get("/api/events/?provider=postmark"))) == 1
    assert _ids(api_client.get("/api/events/?recipient=ada@EXAMPLE.com")) == [bounced.id]
    assert _ids(api_client.get(f"/api/events/?campaign={campaign.pk}")) == [linked.id]
    assert _ids(api_client.get(f"/api/events/?message_id=<{bounced.message_id}>")) == [bounced.id]
    window = "since=2026-11-22T11:59:00Z&until=2026-11-22T12:30:00Z"
    assert _ids(api_client.get(f"/api/events/?{window}")) == [bounced.id]


def test_event_links_to_its_campaign_by_metadata(api_client):
    campaign = Campaign.objects.create(name="Autumn")
    event = ingest(metadata={"campaign_id": str(campaign.pk)})[0]
    unknown = ingest(metadata={"campaign_id": "999999"})[0]

    assert EmailEvent.objects.get(pk=event.pk).campaign_id == campaign.pk
    assert EmailEvent.objects.get(pk=unknown.pk).campaign_id is None


@pytest.mark.parametrize(
    ("query", "field"),
    [("type=nonsense", "type"), ("provider=nope", "provider"), ("since=yesterday", "since")],
)
def test_invalid_filter_answers_400_naming_the_field(api_client, query, field):
    response = api_client.get(f"/api/events/?{query}")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert field in response.json()["fields"]


def test_cursor_pagination_walks_every_event_once(api_client):
    stored = []
    for minute in range(7):
        stored = stored + ingest(timestamp=T0 + timedelta(minutes=minute))
    seen, url = [], "/api/events/?page_size=3"
    while url:
        page = api_client.get(url).json()
        seen += [e["id"] for e in page["results"]]
        url = page["next"]

    assert seen == [e.id for e in reversed(stored)]


def test_detail_includes_the_raw_payload(api_client):
    event = ingest(raw={"event": "delivered", "msg": {"_id": "abc"}})[0]

    body = api_client.get(f"/api/events/{event.id}/").json()

    assert body["raw"] == {"event": "delivered", "msg": {"_id": "abc"}}


def test_message_timeline_is_oldest_first(api_client):
    events = [
        ingest(types=[t], message_id="msg-9", timestamp=T0 + timedelta(minutes=i))[0]
        for i, t in enumerate(["sent", "delivered", "opened"])
    ]

    body = api_client.get("/api/messages/msg-9/events/").json()

    assert [e["id"] for e in body] == [e.id for e in events]


def test_stats_totals_and_per_minute(api_client):
    ingest(types=["delivered", "delivered", "opened"], timestamp=T0)
    ingest(types=["bounced"], timestamp=T0 + timedelta(minutes=1))
    ingest(types=["opened"], timestamp=T0 - timedelta(hours=2))

    body = api_client.get(
        "/api/events/stats/?since=2026-11-22T11:30:00Z&until=2026-11-22T12:30:00Z"
    ).json()

    assert body["totals"] == {"delivered": 2, "opened": 1, "bounced": 1}
    assert body["per_minute"] == [
        {"minute": "2026-11-22T12:00:00Z", "counts": {"delivered": 2, "opened": 1}},
        {"minute": "2026-11-22T12:01:00Z", "counts": {"bounced": 1}},
    ]


def test_stats_default_to_the_last_hour(api_client):
    ingest(types=["opened"])
    ingest(types=["opened"], timestamp=datetime.now(UTC) - timedelta(hours=3))

    assert api_client.get("/api/events/stats/").json()["totals"] == {"opened": 1}


def _stats(api_client, since: datetime, until: datetime) -> dict:
    query = {"since": since.isoformat(), "until": until.isoformat()}
    return api_client.get("/api/events/stats/", query).json()


def test_stats_of_the_last_day_count_whole_minutes_from_the_live_view(api_client):
    now = datetime.now(UTC).replace(second=30, microsecond=0)
    since = now - timedelta(hours=23, minutes=59, seconds=50)
    ingest(types=["opened"], timestamp=since - timedelta(seconds=5))  # before the window
    ingest(types=["clicked"], timestamp=since + timedelta(seconds=5))  # its partial minute
    live_view_rebuild()
    ingest(types=["delivered", "delivered"], timestamp=now - timedelta(hours=2))
    ingest(types=["bounced"], timestamp=now - timedelta(seconds=10))  # the last, partial one

    body = _stats(api_client, since, now)

    assert body["source"] == "live"
    assert body["totals"] == {"clicked": 1, "delivered": 2, "bounced": 1}
    assert [m["counts"] for m in body["per_minute"]] == [
        {"clicked": 1},
        {"delivered": 2},
        {"bounced": 1},
    ]


def test_stats_until_far_ahead_reads_only_the_minutes_that_have_been(api_client):
    now = datetime.now(UTC)
    live_view_rebuild()
    ingest(types=["opened"], timestamp=now - timedelta(minutes=5))

    body = _stats(api_client, now - timedelta(hours=1), datetime(9999, 1, 1, tzinfo=UTC))

    assert body["source"] == "live"
    assert body["totals"] == {"opened": 1}


def test_the_live_view_per_minute_counters_expire(api_client):
    ingest(types=["opened"], timestamp=datetime.now(UTC) - timedelta(minutes=5))

    keys = get_redis_connection().keys(redis_keys.minute_counter("*"))
    assert keys
    assert all(0 < get_redis_connection().ttl(key) <= redis_keys.MINUTE_TTL_S for key in keys)


def test_stats_come_from_postgresql_when_redis_lost_the_live_view(api_client):
    now = datetime.now(UTC)
    ingest(types=["opened", "delivered"], timestamp=now - timedelta(minutes=30))
    live_view_rebuild()
    get_redis_connection().flushdb()  # a restart without persistence

    body = _stats(api_client, now - timedelta(hours=1), now)

    assert body["source"] == "database"
    assert body["totals"] == {"opened": 1, "delivered": 1}


def test_stats_older_than_a_day_come_from_postgresql(api_client):
    now = datetime.now(UTC)
    ingest(types=["opened"], timestamp=now - timedelta(hours=30))
    live_view_rebuild()

    body = _stats(api_client, now - timedelta(hours=31), now)

    assert body["source"] == "database"
    assert body["totals"] == {"opened": 1}


def test_live_snapshot_has_exact_counters_and_recent_events(api_client):
    stored = ingest(types=["delivered", "opened", "opened"])

    body = api_client.get("/api/events/live/").json()

    assert body["counters"]["types"] == {"delivered": 1, "opened": 2}
    assert body["counters"]["providers"] == {"mandrill": 3}
    assert [e["id"] for e in body["events"]] == [e.id for e in reversed(stored)]
    assert body["cursor"]


def test_duplicate_events_within_one_batch_are_stored_once():
    from events.services import events_ingest

    event = normalized(provider_event_id="same")
    result = events_ingest(provider="sendgrid", events=[event, event])

    assert len(result.stored) == 1
    assert EmailEvent.objects.count() == 1
