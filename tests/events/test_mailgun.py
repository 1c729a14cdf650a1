import json
import threading
import time

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django_redis import get_redis_connection

from events.models import EmailEvent, WebhookNonce
from events.providers.mailgun import Adapter
from tests.events.signed_providers import (
    mailgun_body,
    mailgun_event_data,
    post_mailgun,
    postmark_event,
    sendgrid_event,
    sparkpost_event,
)
from tests.events.webhook_helpers import post_json

KEY = "mailgun-signing-key-123"
MESSAGE_ID = "20240501101010.1.ABC@mg.shop.example"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _mailgun_key(settings):
    settings.MAILGUN_WEBHOOK_SIGNING_KEY = KEY
    settings.WEBHOOK_MAX_AGE_S = 900


def remembered_tokens() -> list[str]:
    """Tokens remembered in Redis (where they are kept while Redis is up)."""
    prefix = f"{django_settings.REDIS_KEY_PREFIX}:mailgun-token:"
    return sorted(key.decode()[len(prefix) :] for key in get_redis_connection().keys(prefix + "*"))


DELIVERY_STATUS_BOUNCE = {
    "attempt-no": 1,
    "code": 550,
    "bounce-code": "5.1.1",
    "description": "Mailbox does not exist",
    "message": "5.1.1 The email account that you tried to reach does not exist.",
    "mx-host": "mx.example.com",
    "tls": True,
}
DELIVERY_STATUS_TEMPORARY = {
    "attempt-no": 2,
    "code": 452,
    "description": "",
    "message": "4.2.2 The email account that you tried to reach is over quota.",
    "retry-seconds": 600,
}


@pytest.mark.parametrize(
    ("provider_event", "extra", "normalized"),
    [
        ("accepted", {"method": "HTTP"}, "queued"),
        ("delivered", {"delivery-status": {"code": 250, "message": "OK"}}, "delivered"),
        (
            "failed",
            {
                "severity": "permanent",
                "reason": "bounce",
                "delivery-status": DELIVERY_STATUS_BOUNCE,
            },
            "bounced",
        ),
        (
            "failed",
            {
                "severity": "temporary",
                "reason": "generic",
                "delivery-status": DELIVERY_STATUS_TEMPORARY,
            },
            "deferred",
        ),
        ("opened", {"client-info": {"client-name": "Firefox"}}, "opened"),
        ("clicked", {"url": "https://shop.example/sale"}, "clicked"),
        ("complained", {}, "complained"),
        ("unsubscribed", {}, "unsubscribed"),
        ("rejected", {"reject": {"reason": "Sandbox subdomain", "description": ""}}, "rejected"),
    ],
    ids=[
        "accepted",
        "delivered",
        "failed-permanent",
        "failed-temporary",
        "opened",
        "clicked",
        "complained",
        "unsubscribed",
        "rejected",
    ],
)
def test_signed_event_is_stored_normalized(client, provider_event, extra, normalized):
    data = mailgun_event_data(
        provider_event, recipient="Ada@Example.com", event_id="mg-evt-42", **extra
    )
    response = post_mailgun(client, mailgun_body(data, KEY))

    assert response.status_code == 200, response.content
    assert response.json() == {
        "provider": "mailgun",
        "stored": 1,
        "duplicates": 0,
        "skipped": [],
        "verified": True,
    }
    row = EmailEvent.objects.get()
    assert (row.provider, row.type, row.provider_event) == ("mailgun", normalized, provider_event)
    assert (row.recipient, row.message_id) == ("Ada@Example.com", MESSAGE_ID)
    assert row.provider_event_id == "mg-evt-42"
    assert row.tags == ["autumn"]
    assert row.metadata == {"campaign_ref": "autumn-sale"}
    assert row.timestamp.timestamp() == pytest.approx(data["timestamp"])
    assert row.raw == data


def test_click_keeps_url_and_user_agent(client):
    data = mailgun_event_data(
        "clicked",
        url="https://shop.example/sale?utm=mail",
        **{"client-info": {"user-agent": "Mozilla/5.0 (X11)", "client-type": "browser"}},
    )
    post_mailgun(client, mailgun_body(data, KEY))

    row = EmailEvent.objects.get()
    assert (row.url, row.user_agent) == ("https://shop.example/sale?utm=mail", "Mozilla/5.0 (X11)")


def test_permanent_failure_keeps_mta_response_and_description(client):
    data = mailgun_event_data(
        "failed",
        severity="permanent",
        reason="bounce",
        **{"delivery-status": DELIVERY_STATUS_BOUNCE},
    )
    post_mailgun(client, mailgun_body(data, KEY))

    row = EmailEvent.objects.get()
    assert row.type == "bounced"
    assert row.mta_response == DELIVERY_STATUS_BOUNCE["message"]
    assert row.description == "Mailbox does not exist"
    assert row.reject_reason == "bounced"


def test_rejected_event_without_recipient_takes_it_from_the_to_header(client):
    data = mailgun_event_data("rejected", reject={"reason": "Sandbox subdomain", "description": ""})
    del data["recipient"]
    data["message"]["headers"]["to"] = "Ada Lovelace <ada@example.com>"
    post_mailgun(client, mailgun_body(data, KEY))

    row = EmailEvent.objects.get()
    assert (row.type, row.recipient) == ("rejected", "ada@example.com")
    assert row.description == "Sandbox subdomain"


def test_wrong_signature_is_refused_and_stores_nothing(client):
    response = post_mailgun(client, mailgun_body(mailgun_event_data(), key="not-the-key"))

    assert response.status_code == 403
    assert response.json()["error"] == "bad_signature"
    assert "incorrect signature" in response.json()["detail"]
    assert not EmailEvent.objects.exists()
    assert remembered_tokens() == []


def test_missing_signature_is_refused_and_stores_nothing(client):
    response = post_mailgun(client, {"event-data": mailgun_event_data()})

    assert response.status_code == 403
    assert response.json()["error"] == "bad_signature"
    assert not EmailEvent.objects.exists()


@pytest.mark.parametrize(
    "signature",
    [
        "not-an-object",
        ["token", "timestamp", "signature"],
        {"timestamp": "1714557010", "signature": "ab12"},
        {"timestamp": "1714557010", "token": "tökén", "signature": "ab12"},
        {"timestamp": "1714557010", "token": "a\x00b", "signature": "ab12"},
        {"timestamp": "1714557010", "token": "t" * 256, "signature": "ab12"},
        {"timestamp": {"at": 1}, "token": "abc", "signature": "ab12"},
        {"timestamp": "1714557010", "token": "abc", "signature": None},
    ],
    ids=[
        "string",
        "list",
        "no-token",
        "non-ascii-token",
        "nul-in-token",
        "overlong-token",
        "object-timestamp",
        "null-signature",
    ],
)
def test_malformed_signature_block_is_refused_not_crashed_on(client, signature):
    response = post_mailgun(client, {"signature": signature, "event-data": mailgun_event_data()})

    assert response.status_code == 403
    assert response.json()["error"] == "bad_signature"
    assert not EmailEvent.objects.exists()


@pytest.mark.parametrize(
    ("offset", "words"),
    [(-901, "s old"), (-86400, "s old"), (+901, "in the future"), (+(10**9), "in the future")],
)
def test_signature_outside_the_age_window_is_refused(client, offset, words):
    timestamp = str(int(time.time()) + offset)
    response = post_mailgun(client, mailgun_body(mailgun_event_data(), KEY, timestamp=timestamp))

    assert response.status_code == 403
    assert response.json()["error"] == "stale_signature"
    assert words in response.json()["detail"]
    assert not EmailEvent.objects.exists()
    assert remembered_tokens() == []


def test_signature_inside_the_age_window_is_accepted(client):
    timestamp = str(int(time.time()) - 840)
    response = post_mailgun(client, mailgun_body(mailgun_event_data(), KEY, timestamp=timestamp))

    assert response.status_code == 200
    assert EmailEvent.objects.count() == 1


def test_age_window_follows_the_setting(client, settings):
    settings.WEBHOOK_MAX_AGE_S = 60
    timestamp = str(int(time.time()) - 120)
    response = post_mailgun(client, mailgun_body(mailgun_event_data(), KEY, timestamp=timestamp))

    assert response.status_code == 403
    assert response.json()["error"] == "stale_signature"


def test_signed_timestamp_that_is_not_a_number_is_refused(client):
    body = mailgun_body(mailgun_event_data(), KEY, timestamp="yesterday")
    response = post_mailgun(client, body)

    assert response.status_code == 403
    assert response.json()["error"] == "stale_signature"


@pytest.fixture(params=["redis", "postgresql"])
def token_store(request, settings) -> str:
    """Where tokens are remembered: Redis, or PostgreSQL while Redis is down."""
    if request.param == "postgresql":
        redis_server = request.getfixturevalue("redis_server")
        redis_server.stop()
        settings.CACHES = {
            "default": {**settings.CACHES["default"], "LOCATION": redis_server.url},
        }
    return request.param


def test_token_reused_for_a_different_event_is_refused(client, token_store):
    first = mailgun_body(mailgun_event_data("delivered", event_id="e1"), KEY, token="tok-1")
    forged = mailgun_body(mailgun_event_data("opened", event_id="e2"), KEY, token="tok-1")
    assert post_mailgun(client, first).status_code == 200

    response = post_mailgun(client, forged)

    assert response.status_code == 403
    assert response.json()["error"] == "token_reused"
    assert list(EmailEvent.objects.values_list("provider_event", flat=True)) == ["delivered"]
    if token_store == "redis":
        assert remembered_tokens() == ["tok-1"]
        assert not WebhookNonce.objects.exists()
    else:
        assert WebhookNonce.objects.get().token == "tok-1"


def test_token_reused_for_the_same_event_stores_nothing_new(client):
    body = mailgun_body(mailgun_event_data(), KEY, token="tok-1")
    first = post_mailgun(client, body)
    again = post_mailgun(client, body)

    assert first.json()["stored"] == 1
    assert again.status_code == 200
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 1)
    assert EmailEvent.objects.count() == 1
    assert remembered_tokens() == ["tok-1"]


def test_same_event_serialised_differently_counts_as_the_same_body(client):
    body = mailgun_body(mailgun_event_data(), KEY, token="tok-1")
    post_mailgun(client, body)
    reordered = json.dumps(
        {**body, "event-data": dict(reversed(body["event-data"].items()))}, indent=2
    )

    response = post_mailgun(client, reordered)

    assert response.status_code == 200
    assert response.json()["stored"] == 0


def test_concurrent_first_uses_of_one_token_accept_exactly_one_event(settings):
    bodies = [
        mailgun_body(mailgun_event_data(event, event_id=event), KEY, token="tok-race")
        for event in ("delivered", "opened")
    ]
    barrier = threading.Barrier(len(bodies))
    statuses = []

    def post(body):
        try:
            barrier.wait()
            statuses.append(post_mailgun(Client(), body).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 403]
    assert EmailEvent.objects.count() == 1
    assert remembered_tokens() == ["tok-race"]


def test_unsigned_post_is_accepted_when_no_key_is_configured(client, settings):
    settings.MAILGUN_WEBHOOK_SIGNING_KEY = ""
    response = post_mailgun(client, mailgun_body(mailgun_event_data(), key=None))

    assert response.status_code == 200
    assert response.json()["verified"] is False
    assert EmailEvent.objects.count() == 1
    assert remembered_tokens() == []


def test_detected_without_provider_in_url(client):
    response = post_mailgun(client, mailgun_body(mailgun_event_data(), KEY), path="/api/hook/")

    assert response.status_code == 200
    assert response.json()["provider"] == "mailgun"
    assert EmailEvent.objects.get().provider == "mailgun"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"signature": {}},
        {"event-data": {}},
        {"signature": "x", "event-data": {}},
        {"signature": {}, "event-data": []},
        [{"signature": {}, "event-data": {}}],
        [sendgrid_event()],
        [sparkpost_event()],
        postmark_event(),
    ],
)
def test_only_mailgun_payloads_are_detected(payload):
    assert not Adapter.detect(None, payload)


@pytest.mark.parametrize("path", ["/api/hook/mailgun/", "/api/hook/"])
def test_malformed_json_gets_400_and_stores_nothing(client, path):
    response = post_json(client, path, b'{"signature": {"token": ')

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert not EmailEvent.objects.exists()


def test_body_that_is_not_an_object_gets_400(client):
    response = post_mailgun(client, [mailgun_body(mailgun_event_data(), KEY)])

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"


def test_signed_post_without_event_data_gets_400(client):
    body = mailgun_body(mailgun_event_data(), KEY)
    del body["event-data"]
    response = post_mailgun(client, body)

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert not EmailEvent.objects.exists()


def test_legacy_form_post_gets_415(client):
    response = client.post(
        "/api/hook/mailgun/",
        {"event": "delivered", "recipient": "ada@example.com"},
    )

    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
