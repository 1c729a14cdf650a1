"""Limits everywhere (issue 8, item 8): each one is answered with a clear error, never a crash
or unbounded memory. Also covered elsewhere: webhook body size and content
(tests/events/test_webhook_limits.py), CSV size and row count (tests/mailer/test_imports.py).
"""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from config.asgi import application
from events.models import EmailEvent
from mailer.models import Message, Subscriber, SubscriberImport, Suppression
from tests.events.factories import ingest
from tests.events.webhook_helpers import mandrill_event, post_mandrill
from tests.mailer import factories
from tests.mailer.campaign_factories import campaign

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://localhost")


# --- HTTP


def _three_of_everything(staff_user) -> None:
    people = [factories.subscriber() for _ in range(3)]
    target = campaign(lists=[factories.mailing_list(members=people)], created_by=staff_user)
    for _ in range(2):
        factories.mailing_list()
        campaign(created_by=staff_user)
    for n in range(3):
        factories.segment({"status": ["active"]})
        Message.objects.create(campaign=target, subscriber=people[n], email=people[n].email)
        SubscriberImport.objects.create(original_name=f"people-{n}.csv", content=b"email\n")
        Suppression.objects.create(email=f"gone{n}@example.com", reason="manual")
    ingest(types=["delivered", "opened", "clicked"])


LIST_ENDPOINTS = [
    "/api/events/",
    "/api/campaigns/",
    "/api/messages/",
    "/api/subscribers/",
    "/api/lists/",
    "/api/segments/",
    "/api/imports/",
    "/api/suppressions/",
]


def test_page_size_above_the_maximum_is_clamped_on_every_list_endpoint(staff_user, settings):
    settings.API_MAX_PAGE_SIZE = 2
    _three_of_everything(staff_user)
    client = factories.client_for(staff_user)

    pages = {url: client.get(f"{url}?page_size=100000") for url in LIST_ENDPOINTS}

    assert {url: r.status_code for url, r in pages.items()} == dict.fromkeys(LIST_ENDPOINTS, 200)
    assert {url: len(r.json()["results"]) for url, r in pages.items()} == dict.fromkeys(
        LIST_ENDPOINTS, 2
    )
    assert all(r.json()["next"] for r in pages.values())


def test_api_body_over_the_limit_gets_413_json_and_stores_nothing(staff_user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client = factories.client_for(staff_user)
    body = {"email": "big@example.com", "attributes": {"note": "x" * 20_000}}

    response = client.post("/api/subscribers/", json.dumps(body), content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert response.json()["limit"] == 10_000
    assert not Subscriber.objects.filter(email="big@example.com").exists()


def test_webhook_with_more_events_than_the_batch_limit_gets_413(client, settings):
    settings.WEBHOOK_MAX_EVENTS = 2
    events = [mandrill_event(message_id=f"batch-{n}") for n in range(3)]

    response = post_mandrill(client, events)

    assert response.status_code == 413
    assert response.json()["error"] == "too_many_events"
    assert response.json()["limit"] == 2
    assert not EmailEvent.objects.exists()


# --- the websocket


@sync_to_async
def _token() -> str:
    user = get_user_model().objects.create_user("ops", password="pw-ops-12345")
    return Token.objects.create(user=user).key


async def _connect(token: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application,
        "/ws/email/",
        headers=[ORIGIN, (b"authorization", f"Token {token}".encode())],
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _frame(communicator, frame_type: str) -> dict:
    while (frame := await communicator.receive_json_from(timeout=5))["type"] != frame_type:
        pass
    return frame


async def test_websocket_message_over_the_size_limit_gets_an_error_frame(settings):
    settings.WS_MAX_MESSAGE_BYTES = 100
    communicator = await _connect(await _token())
    await _frame(communicator, "snapshot")

    await communicator.send_to(text_data=json.dumps({"action": "filter", "types": ["x" * 200]}))

    error = await _frame(communicator, "error")
    assert error["code"] == "too_large"
    assert "100 bytes" in error["detail"]
    await communicator.disconnect()


async def test_websocket_flood_gets_rate_limited_then_closed_with_1008(settings):
    settings.WS_MESSAGE_BURST, settings.WS_MESSAGES_PER_S = 3, 0.01
    communicator = await _connect(await _token())
    await _frame(communicator, "snapshot")

    for _ in range(3):  # the burst: answered normally
        await communicator.send_json_to({"action": "nothing"})
        assert (await _frame(communicator, "error"))["code"] == "bad_message"
    for _ in range(3):  # over the rate: refused, still open
        await communicator.send_json_to({"action": "nothing"})
        assert (await _frame(communicator, "error"))["code"] == "rate_limited"
    await communicator.send_json_to({"action": "nothing"})

    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 1008}


async def test_connections_per_user_over_the_limit_are_closed_with_4429(settings):
    settings.WS_MAX_CONNECTIONS_PER_USER = 2
    token = await _token()
    first, second = await _connect(token), await _connect(token)

    third = await _connect(token)

    error = await _frame(third, "error")
    assert error["code"] == "too_many"
    assert await third.receive_output(timeout=5) == {"type": "websocket.close", "code": 4429}
    await first.disconnect()
    fourth = await _connect(token)
    await _frame(fourth, "snapshot")  # admitted: it waits for the snapshot, or times out
    for communicator in (second, fourth):
        await communicator.disconnect()
