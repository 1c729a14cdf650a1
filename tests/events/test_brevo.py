import json
from datetime import UTC, datetime

import pytest
from django.test import RequestFactory

from events.models import EmailEvent
from events.providers.brevo import Adapter
from tests.events.webhook_helpers import basic_auth, post_json

pytestmark = pytest.mark.django_db(transaction=True)

CREDENTIALS = "user:pass"
PATH = "/api/hook/brevo/"
MESSAGE_ID = "202403011100.12345678901@smtp-relay.mailin.fr"


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.WEBHOOK_SECRET = [CREDENTIALS]


def brevo_event(event: str = "delivered", **fields) -> dict:
    """One transactional email event, shaped as in Brevo's transactional webhook docs."""
    body = {
        "event": event,
        "email": "Ada@Example.com",
        "id": 4242,
        "date": "2024-03-01 13:00:05",
        "ts": 1709294405,
        "message-id": f"<{MESSAGE_ID}>",
        "ts_event": 1709294405,
        "subject": "Your order",
        "X-Mailin-custom": '{"order": "A-17"}',
        "sending_ip": "185.41.28.109",
        "ts_epoch": 1709294405123,
        "template_id": 7,
        "tags": ["orders"],
        "contact_id": 8,
    }
    body.update(fields)
    return body


def post_brevo(client, body, path: str = PATH, credentials: str | None = CREDENTIALS):
    headers = basic_auth(credentials) if credentials else {}
    return post_json(client, path, body, **headers)


@pytest.mark.parametrize(
    ("provider_event", "normalized", "reject_reason"),
    [
        ("request", "queued", ""),
        ("delivered", "delivered", ""),
        ("hard_bounce", "bounced", "bounced"),
        ("soft_bounce", "bounced", "bounced"),
        ("deferred", "deferred", ""),
        ("blocked", "rejected", "blocked"),
        ("invalid_email", "bounced", "invalid"),
        ("error", "failed", ""),
        ("unique_opened", "opened", ""),
        ("opened", "opened", ""),
        ("unique_proxy_open", "opened", ""),
        ("proxy_open", "opened", ""),
        ("click", "clicked", ""),
        ("spam", "complained", "spam"),
        ("unsubscribe", "unsubscribed", ""),
    ],
)
def test_each_event_kind_is_stored_normalized(client, provider_event, normalized, reject_reason):
    response = post_brevo(client, brevo_event(provider_event))

    assert response.status_code == 200, response.content
    assert response.json() == {
        "provider": "brevo",
        "stored": 1,
        "duplicates": 0,
        "skipped": [],
        "verified": True,
    }
    row = EmailEvent.objects.get()
    assert (row.provider, row.type, row.provider_event) == ("brevo", normalized, provider_event)
    assert (row.recipient, row.message_id) == ("Ada@Example.com", MESSAGE_ID)
    assert row.provider_event_id == ""
    assert row.reject_reason == reject_reason
    assert row.raw["event"] == provider_event


def test_click_keeps_the_link(client):
    post_brevo(client, brevo_event("click", link="https://shop.example/orders/A-17"))

    assert EmailEvent.objects.get().url == "https://shop.example/orders/A-17"


@pytest.mark.parametrize(
    ("provider_event", "reason"),
    [
        ("hard_bounce", " RecipientError: 550 5.1.1 mailbox unavailable"),
        ("soft_bounce", "undefined Unable to find MX of domain no-mx.example.com"),
        ("deferred", "421 4.7.0 Try again later"),
        ("blocked", "blocked : due to blacklist user"),
    ],
)
def test_brevo_reason_is_kept_as_mta_response(client, provider_event, reason):
    post_brevo(client, brevo_event(provider_event, reason=reason))

    assert EmailEvent.objects.get().mta_response == reason


def test_timestamp_is_brevo_utc_epoch_in_milliseconds(client):
    post_brevo(client, brevo_event(ts_epoch=1709294405123))

    assert EmailEvent.objects.get().timestamp == datetime(2024, 3, 1, 12, 0, 5, 123000, tzinfo=UTC)


def test_tags_and_custom_header_metadata_are_kept(client):
    post_brevo(client, brevo_event(tags=["orders", "eu"], **{"X-Mailin-custom": '{"n": 1}'}))

    row = EmailEvent.objects.get()
    assert (row.tags, row.metadata) == (["orders", "eu"], {"n": 1})


@pytest.mark.parametrize("credentials", ["user:wrong", None])
def test_wrong_or_missing_basic_auth_is_challenged_and_stores_nothing(client, credentials):
    response = post_brevo(client, brevo_event(), credentials=credentials)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="mailpulse brevo webhook"'
    assert response.json()["error"] == "unauthorized"
    assert not EmailEvent.objects.exists()


def test_replayed_post_stores_nothing_new(client):
    event = brevo_event("unique_opened")
    first = post_brevo(client, event)
    again = post_brevo(client, event)

    assert first.json()["stored"] == 1
    assert again.status_code == 200
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 1)
    assert EmailEvent.objects.count() == 1


def test_detected_without_provider_in_url(client):
    response = post_brevo(client, brevo_event("delivered"), path="/api/hook/")

    assert response.status_code == 200, response.content
    assert response.json()["provider"] == "brevo"
    assert EmailEvent.objects.get().provider == "brevo"


@pytest.mark.parametrize("path", [PATH, "/api/hook/"])
def test_malformed_json_is_refused_with_reason_and_stores_nothing(client, path):
    response = post_brevo(client, '{"event": "delivered", ', path=path)

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert "JSON" in response.json()["detail"]
    assert not EmailEvent.objects.exists()


@pytest.mark.parametrize("body", ["null", "42", '"delivered"', "[1, 2]", "[]"])
def test_json_that_is_not_a_brevo_event_is_refused(client, body):
    response = post_brevo(client, body)

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert not EmailEvent.objects.exists()


def test_inbound_parsing_post_on_the_tracking_url_is_refused_with_reason(client):
    response = post_brevo(client, {"items": [{"Uuid": ["b6e0..."], "Subject": "Hi"}]})

    assert response.status_code == 400
    assert "inbound" in response.json()["detail"]
    assert not EmailEvent.objects.exists()


def test_unverified_post_is_accepted_when_no_secret_is_configured(client, settings):
    settings.WEBHOOK_SECRET = []
    response = post_brevo(client, brevo_event(), credentials=None)

    assert response.status_code == 200
    assert response.json()["verified"] is False
    assert EmailEvent.objects.count() == 1


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(None, id="form post"),
        pytest.param([brevo_event()], id="array of brevo events"),
        pytest.param({**brevo_event(), "message-id": None}, id="no message-id"),
        pytest.param({**brevo_event(), "email": ["ada@example.com"]}, id="email not a string"),
        pytest.param(
            {k: v for k, v in brevo_event().items() if k not in ("ts", "ts_event", "ts_epoch")},
            id="no timestamp",
        ),
        pytest.param(
            {**brevo_event(), "ts": "1709294405", "ts_event": True, "ts_epoch": 1.5},
            id="timestamps not integers",
        ),
        pytest.param(
            {"event": "sent", "time": 1433333949, "MessageID": 19421777835146490, "email": "a@b.c"},
            id="mailjet",
        ),
        pytest.param(
            {"type": "email.sent", "created_at": "2024-03-01T12:00:05Z", "data": {}},
            id="resend",
        ),
        pytest.param(
            {"RecordType": "Delivery", "MessageID": "883953f4", "Recipient": "a@b.c"},
            id="postmark",
        ),
        pytest.param(
            {"signature": {"token": "t"}, "event-data": {"event": "delivered"}}, id="mailgun"
        ),
        pytest.param(
            {"event": "delivered", "email": "a@b.c", "timestamp": 1, "smtp-id": "<x@y>"},
            id="sendgrid event",
        ),
    ],
)
def test_other_formats_are_not_detected_as_brevo(payload):
    request = RequestFactory().post(
        "/api/hook/", json.dumps(payload), content_type="application/json"
    )

    assert Adapter.detect(request, payload) is False
