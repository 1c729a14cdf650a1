"""/ws/email/ through the real ASGI app, over the real Redis channel layer."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from django_redis import get_redis_connection
from rest_framework.authtoken.models import Token

from config.asgi import application
from events.observers import StoredBatch
from tests.events.factories import ingest

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://localhost")


@sync_to_async
def _token() -> str:
    user = get_user_model().objects.create_user("ops", password="pw-ops-12345")
    return Token.objects.create(user=user).key


async def _connect(token: str, headers=()) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application,
        "/ws/email/",
        headers=[ORIGIN, (b"authorization", f"Token {token}".encode()), *headers],
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


ingest_async = sync_to_async(ingest)


async def _frames_until(communicator, predicate, timeout=2.0) -> list[dict]:
    frames = []
    while not frames or not predicate(frames):
        frames.append(await communicator.receive_json_from(timeout=timeout))
    return frames


async def test_anonymous_connection_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/email/", headers=[ORIGIN])

    connected, code = await communicator.connect()

    assert not connected
    assert code == 4401


async def test_foreign_origin_is_refused():
    token = await _token()
    communicator = WebsocketCommunicator(
        application,
        "/ws/email/",
        headers=[
            (b"origin", b"https://evil.example"),
            (b"authorization", f"Token {token}".encode()),
        ],
    )

    connected, _ = await communicator.connect()

    assert not connected


async def test_session_cookie_authenticates():
    @sync_to_async
    def session_cookie() -> bytes:
        get_user_model().objects.create_user("viewer", password="pw-viewer-123")
        client = Client()
        client.login(username="viewer", password="pw-viewer-123")
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    cookie = await session_cookie()
    communicator = WebsocketCommunicator(
        application, "/ws/email/", headers=[ORIGIN, (b"cookie", cookie)]
    )

    connected, _ = await communicator.connect()

    assert connected
    assert (await communicator.receive_json_from())["type"] == "snapshot"
    await communicator.disconnect()


async def test_snapshot_has_counters_recent_events_and_cursor():
    stored = await ingest_async(types=["delivered", "opened"])
    communicator = await _connect(await _token())

    snapshot = await communicator.receive_json_from()

    assert snapshot["type"] == "snapshot"
    assert snapshot["counters"]["types"] == {"delivered": 1, "opened": 1}
    assert [e["id"] for e in snapshot["events"]] == [e.id for e in reversed(stored)]
    assert snapshot["cursor"]
    await communicator.disconnect()


async def test_stored_batch_reaches_every_connected_dashboard_in_one_frame():
    token = await _token()
    first, second = await _connect(token), await _connect(token)
    for communicator in (first, second):
        await communicator.receive_json_from()

    stored = await ingest_async(types=["delivered", "opened", "clicked"])

    for communicator in (first, second):
        frame = await communicator.receive_json_from(timeout=1)
        assert frame["type"] == "events"
        assert [e["id"] for e in frame["events"]] == [e.id for e in reversed(stored)]
        assert frame["counts"]["types"] == {"delivered": 1, "opened": 1, "clicked": 1}
        assert frame["events"][0]["recipient"] == stored[-1].recipient
        await communicator.disconnect()


async def test_filter_limits_events_but_counts_stay_exact():
    communicator = await _connect(await _token())
    await communicator.receive_json_from()

    await communicator.send_json_to({"action": "filter", "types": ["bounced"], "providers": []})
    refreshed = await communicator.receive_json_from()
    await ingest_async(types=["delivered", "bounced", "opened"])
    frame = await communicator.receive_json_from()

    assert refreshed["type"] == "snapshot"
    assert refreshed["filters"]["types"] == ["bounced"]
    assert [e["type"] for e in frame["events"]] == ["bounced"]
    assert frame["counts"]["types"] == {"delivered": 1, "bounced": 1, "opened": 1}
    await communicator.disconnect()


async def test_filter_by_campaign_and_provider():
    from mailer.models import Campaign

    campaign = await sync_to_async(Campaign.objects.create)(name="Autumn")
    communicator = await _connect(await _token())
    await communicator.receive_json_from()
    await communicator.send_json_to(
        {"action": "filter", "providers": ["postmark"], "campaign": campaign.pk}
    )
    await communicator.receive_json_from()

    await ingest_async(provider="postmark", metadata={"campaign_id": str(campaign.pk)})
    await ingest_async(provider="postmark")
    await ingest_async(provider="mandrill", metadata={"campaign_id": str(campaign.pk)})
    frames = await _frames_until(
        communicator, lambda f: sum(sum(x["counts"]["types"].values()) for x in f) == 3
    )

    shown = [e for f in frames for e in f["events"]]
    assert [(e["provider"], e["campaign"]) for e in shown] == [("postmark", campaign.pk)]
    await communicator.disconnect()


async def test_resume_replays_what_a_dashboard_missed():
    token = await _token()
    communicator = await _connect(token)
    cursor = (await communicator.receive_json_from())["cursor"]
    await communicator.disconnect()
    missed = await ingest_async(types=["delivered", "opened", "clicked"])

    reconnected = await _connect(token)
    await reconnected.receive_json_from()
    await reconnected.send_json_to({"action": "resume", "cursor": cursor})
    replay = await reconnected.receive_json_from()

    assert replay["type"] == "events"
    assert replay["replay"] is True
    assert {e.id for e in missed} <= {e["id"] for e in replay["events"]}
    assert replay["cursor"] > cursor
    await reconnected.disconnect()


async def test_resume_falls_back_to_postgresql_when_redis_lost_the_stream():
    token = await _token()
    communicator = await _connect(token)
    await communicator.receive_json_from()
    await ingest_async()
    cursor = (await communicator.receive_json_from())["cursor"]
    await communicator.disconnect()
    missed = await ingest_async(types=["bounced"])
    await sync_to_async(get_redis_connection("default").flushdb)()

    reconnected = await _connect(token)
    await reconnected.receive_json_from()
    await reconnected.send_json_to({"action": "resume", "cursor": cursor})
    replay = await reconnected.receive_json_from()

    assert missed[0].id in {e["id"] for e in replay["events"]}
    await reconnected.disconnect()


async def test_flood_is_coalesced_with_a_dropped_count_and_exact_counts(settings):
    settings.WS_MAX_EVENTS_PER_FRAME = 50
    settings.WS_FRAME_INTERVAL_MS = 200
    communicator = await _connect(await _token())
    await communicator.receive_json_from()

    for _ in range(5):
        await ingest_async(types=["delivered"] * 100)
    frames = await _frames_until(
        communicator, lambda f: sum(x["counts"]["types"]["delivered"] for x in f) == 500
    )

    assert len(frames) < 5
    assert all(len(f["events"]) <= 50 for f in frames)
    assert sum(len(f["events"]) + f.get("dropped", 0) for f in frames) == 500
    assert any(f.get("dropped") for f in frames)
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        ({"action": "dance"}, "Unknown action"),
        ({"action": "filter", "types": ["nope"]}, "Unknown filter values"),
        ({"action": "resume", "cursor": "not-a-cursor"}, "resume needs the cursor"),
    ],
)
async def test_bad_client_messages_get_an_error_frame(message, detail):
    communicator = await _connect(await _token())
    await communicator.receive_json_from()

    await communicator.send_json_to(message)
    frame = await communicator.receive_json_from()

    assert frame["type"] == "error"
    assert detail in frame["detail"]
    await communicator.disconnect()


async def test_oversized_client_message_gets_an_error_frame():
    communicator = await _connect(await _token())
    await communicator.receive_json_from()

    await communicator.send_to(text_data="x" * 5000)

    assert (await communicator.receive_json_from())["type"] == "error"
    await communicator.disconnect()


async def test_campaign_filter_gets_exact_campaign_counters_and_increments():
    from mailer.models import Campaign

    campaign = await sync_to_async(Campaign.objects.create)(name="Autumn")
    await ingest_async(types=["sent", "delivered"], metadata={"campaign_id": str(campaign.pk)})
    communicator = await _connect(await _token())
    await communicator.receive_json_from()

    await communicator.send_json_to({"action": "filter", "campaign": campaign.pk})
    snapshot = await communicator.receive_json_from()
    await ingest_async(types=["opened", "clicked"], metadata={"campaign_id": str(campaign.pk)})
    await ingest_async(types=["opened"])
    frames = await _frames_until(
        communicator, lambda f: sum(sum(x["counts"]["types"].values()) for x in f) == 3
    )

    assert snapshot["campaign_counters"] == {"sent": 1, "delivered": 1}
    campaign_counts = [f["counts"]["campaign"] for f in frames if "campaign" in f["counts"]]
    assert campaign_counts == [{"opened": 1, "clicked": 1}]
    await communicator.disconnect()


async def test_batch_already_in_the_snapshot_is_not_counted_again():
    from events import broadcast
    from events.models import EmailEvent

    token = await _token()
    communicator = await _connect(token)
    await communicator.receive_json_from()
    stored = await ingest_async(types=["delivered"])
    first = await communicator.receive_json_from()
    snapshot_cursor = first["cursor"]

    # A dashboard that connects now gets a snapshot already holding that batch; the same
    # batch's group message arriving late must not add to its counters.
    late = await _connect(token)
    snapshot = await late.receive_json_from()
    event = await sync_to_async(EmailEvent.objects.get)(pk=stored[0].pk)
    batch = StoredBatch(events=[event], cursor=snapshot_cursor)
    await sync_to_async(broadcast.broadcast_batch)(batch)

    assert snapshot["counters"]["types"] == {"delivered": 1}
    assert await late.receive_nothing(timeout=0.5)
    await communicator.disconnect()
    await late.disconnect()


async def test_progress_of_long_work_reaches_dashboards():
    from events.progress import publish_progress

    communicator = await _connect(await _token())
    await communicator.receive_json_from()

    await sync_to_async(publish_progress)(kind="import", object_id=7, done=5, total=10)

    assert await communicator.receive_json_from() == {
        "type": "progress", "kind": "import", "id": 7, "done": 5, "total": 10,
    }  # fmt: skip
    await communicator.disconnect()
