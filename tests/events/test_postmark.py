from datetime import UTC, datetime

import pytest

from events.models import EmailEvent
from events.providers.postmark import Adapter
from tests.events.signed_providers import (
    BASIC_AUTH,
    mailgun_body,
    mailgun_event_data,
    post_postmark,
    postmark_event,
    sendgrid_event,
    sparkpost_event,
)
from tests.events.webhook_helpers import post_json

MESSAGE_ID = "883953f4-6105-42a2-a16a-77a8eac79483"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _basic_auth(settings):
    settings.WEBHOOK_SECRET = [BASIC_AUTH]


def bounce(bounce_type: str, type_code: int, **extra) -> dict:
    """A Bounce record; Postmark gives bounces (and spam complaints) a numeric ID."""
    return {
        "ID": 4323372036854775807,
        "Type": bounce_type,
        "TypeCode": type_code,
        "Name": bounce_type,
        "Description": "The server was unable to deliver your message.",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "From": "news@shop.example",
        "Subject": "Autumn sale",
        "DumpAvailable": True,
        "Inactive": bounce_type == "HardBounce",
        "CanActivate": True,
        **extra,
    }


@pytest.mark.parametrize(
    ("record_type", "extra", "normalized", "event_id"),
    [
        ("Delivery", {"Details": "Test delivery webhook details"}, "delivered", ""),
        ("Bounce", bounce("HardBounce", 1), "bounced", "4323372036854775807"),
        ("Bounce", bounce("SoftBounce", 4096), "bounced", "4323372036854775807"),
        ("Bounce", bounce("Transient", 2), "deferred", "4323372036854775807"),
        ("Bounce", bounce("Blocked", 100006), "rejected", "4323372036854775807"),
        ("SpamComplaint", bounce("SpamComplaint", 512), "complained", "4323372036854775807"),
        (
            "Open",
            {"FirstOpen": True, "UserAgent": "Mozilla/5.0", "Platform": "Desktop"},
            "opened",
            "",
        ),
        (
            "Click",
            {"ClickLocation": "HTML", "OriginalLink": "https://shop.example/"},
            "clicked",
            "",
        ),
        (
            "SubscriptionChange",
            {
                "Origin": "Recipient",
                "SuppressSending": True,
                "SuppressionReason": "ManualSuppression",
            },
            "unsubscribed",
            "",
        ),
        (
            "SubscriptionChange",
            {"Origin": "Customer", "SuppressSending": False, "SuppressionReason": None},
            "subscribed",
            "",
        ),
    ],
    ids=[
        "delivery",
        "bounce-hard",
        "bounce-soft",
        "bounce-transient",
        "bounce-blocked",
        "spam-complaint",
        "open",
        "click",
        "unsubscribe",
        "resubscribe",
    ],
)
def test_authenticated_event_is_stored_normalized(client, record_type, extra, normalized, event_id):
    event = postmark_event(record_type, recipient="Ada@Example.com", **extra)
    response = post_postmark(client, event)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "provider": "postmark",
        "stored": 1,
        "duplicates": 0,
        "skipped": [],
        "verified": True,
    }
    row = EmailEvent.objects.get()
    assert (row.provider, row.type, row.provider_event) == ("postmark", normalized, record_type)
    assert (row.recipient, row.message_id) == ("Ada@Example.com", MESSAGE_ID)
    assert row.provider_event_id == event_id
    assert row.tags == ["autumn"]
    assert row.metadata == {"campaign_ref": "autumn-sale"}
    assert row.timestamp == datetime(2024, 5, 1, 10, 10, 10, 123456, tzinfo=UTC)
    assert row.raw == event


def test_click_keeps_url_and_user_agent(client):
    event = postmark_event(
        "Click", OriginalLink="https://shop.example/sale", UserAgent="Mozilla/5.0"
    )
    post_postmark(client, event)

    row = EmailEvent.objects.get()
    assert (row.url, row.user_agent) == ("https://shop.example/sale", "Mozilla/5.0")


def test_bounce_keeps_mta_response_description_and_reject_reason(client):
    post_postmark(client, postmark_event("Bounce", **bounce("HardBounce", 1)))

    row = EmailEvent.objects.get()
    assert row.mta_response.startswith("smtp;550 5.1.1")
    assert row.description == "The server was unable to deliver your message."
    assert row.reject_reason == "bounced"


def test_message_id_is_postmarks_even_when_metadata_has_an_anymail_id(client):
    event = postmark_event("Delivery", Metadata={"anymail_id": "some-anymail-uuid"})
    post_postmark(client, event)

    assert EmailEvent.objects.get().message_id == MESSAGE_ID


def test_replayed_event_without_id_stores_nothing_new(client):
    event = postmark_event("Open", FirstOpen=True)
    first = post_postmark(client, event)
    again = post_postmark(client, event)

    assert first.json()["stored"] == 1
    assert again.status_code == 200
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 1)
    assert EmailEvent.objects.count() == 1


def test_replayed_bounce_stores_nothing_new(client):
    event = postmark_event("Bounce", **bounce("HardBounce", 1))
    post_postmark(client, event)
    again = post_postmark(client, {**event, "Details": "retried with other details"})

    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 1)
    assert EmailEvent.objects.count() == 1


@pytest.mark.parametrize("auth", ["mailpulse:wrong-pw", None], ids=["wrong", "missing"])
def test_wrong_or_missing_basic_auth_gets_401_and_stores_nothing(client, auth):
    response = post_postmark(client, postmark_event(), auth=auth)

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response["WWW-Authenticate"] == 'Basic realm="mailpulse postmark webhook"'
    assert not EmailEvent.objects.exists()


# anymail rightly warns that this webhook is open; the app ignores it (events/apps.py).
def test_unauthenticated_post_is_accepted_when_no_secret_is_configured(client, settings):
    settings.WEBHOOK_SECRET = []
    response = post_postmark(client, postmark_event(), auth=None)

    assert response.status_code == 200
    assert response.json()["verified"] is False
    assert EmailEvent.objects.count() == 1


def test_detected_without_provider_in_url(client):
    response = post_postmark(client, postmark_event(), path="/api/hook/")

    assert response.status_code == 200
    assert response.json()["provider"] == "postmark"
    assert EmailEvent.objects.get().provider == "postmark"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {},
        {"RecordType": 1},
        {"recordtype": "Delivery"},
        [postmark_event()],
        mailgun_body(mailgun_event_data(), key=None),
        [sendgrid_event()],
        [sparkpost_event()],
    ],
)
def test_only_postmark_payloads_are_detected(payload):
    assert not Adapter.detect(None, payload)


@pytest.mark.parametrize(
    "body",
    [
        b'{"RecordType": "Delivery", ',
        b'[{"RecordType": "Delivery"}]',
        b'{"RecordType": "Delivery", "Metadata": ["not", "an", "object"]}',
    ],
    ids=["not-json", "array-not-object", "metadata-not-object"],
)
def test_malformed_body_gets_400_and_stores_nothing(client, body):
    response = post_postmark(client, body)

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert not EmailEvent.objects.exists()


def test_malformed_json_without_provider_in_url_gets_400(client):
    response = post_json(client, "/api/hook/", b'{"RecordType": ')

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"


def test_inbound_post_to_the_tracking_webhook_gets_400(client):
    inbound = {"FromFull": {"Email": "ada@example.com"}, "MessageID": MESSAGE_ID, "Subject": "Hi"}
    response = post_postmark(client, inbound)

    assert response.status_code == 400
    assert "inbound" in response.json()["detail"]
    assert not EmailEvent.objects.exists()
