import json
from datetime import UTC, datetime

import pytest
from django.test import RequestFactory

from events.models import EmailEvent
from events.providers.mailjet import Adapter
from tests.events.webhook_helpers import basic_auth, post_json

pytestmark = pytest.mark.django_db(transaction=True)

CREDENTIALS = "user:pass"
PATH = "/api/hook/mailjet/"
MESSAGE_ID = 19421777835146490


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.WEBHOOK_SECRET = [CREDENTIALS]


def mailjet_event(event: str = "sent", **fields) -> dict:
    """One Event API event with the common fields of Mailjet's webhook docs."""
    body = {
        "event": event,
        "time": 1433333949,
        "MessageID": MESSAGE_ID,
        "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0ab1c2d",
        "email": "Ada@Example.com",
        "mj_campaign_id": 7257,
        "mj_contact_id": 4,
        "customcampaign": "autumn",
        "CustomID": "order-17",
        "Payload": '{"order": "A-17"}',
    }
    body.update(fields)
    return body


def post_mailjet(client, body, path: str = PATH, credentials: str | None = CREDENTIALS):
    headers = basic_auth(credentials) if credentials else {}
    return post_json(client, path, body, **headers)


BOUNCE = {"blocked": False, "error_related_to": "recipient", "error": "user unknown"}
ENGAGEMENT = {"ip": "127.0.0.1", "geo": "FR", "agent": "Mozilla/5.0"}


@pytest.mark.parametrize(
    ("provider_event", "fields", "normalized", "reject_reason"),
    [
        pytest.param(
            "sent",
            {"mj_message_id": str(MESSAGE_ID), "smtp_reply": "sent (250 2.0.0 OK)"},
            "delivered",
            "",
            id="sent",
        ),
        pytest.param("open", ENGAGEMENT, "opened", "", id="open"),
        pytest.param("click", {**ENGAGEMENT, "url": "https://x.test"}, "clicked", "", id="click"),
        pytest.param(
            "bounce", {**BOUNCE, "hard_bounce": True}, "bounced", "bounced", id="hard bounce"
        ),
        pytest.param(
            "bounce",
            {**BOUNCE, "hard_bounce": False, "error": "quota exceeded"},
            "bounced",
            "bounced",
            id="soft bounce",
        ),
        pytest.param(
            "bounce",
            {**BOUNCE, "hard_bounce": False, "error_related_to": "domain", "error": "greylisted"},
            "deferred",
            "other",
            id="greylisted (deferred)",
        ),
        pytest.param(
            "blocked",
            {"error_related_to": "mailjet", "error": "preblocked"},
            "rejected",
            "blocked",
            id="blocked",
        ),
        pytest.param(
            "blocked",
            {"error_related_to": "domain", "error": "typofix"},
            "rejected",
            "invalid",
            id="blocked invalid",
        ),
        pytest.param("spam", {"source": "JMRPP"}, "complained", "", id="spam"),
        pytest.param("unsub", {**ENGAGEMENT, "mj_list_id": 1}, "unsubscribed", "", id="unsub"),
    ],
)
def test_each_event_kind_is_stored_normalized(
    client, provider_event, fields, normalized, reject_reason
):
    response = post_mailjet(client, mailjet_event(provider_event, **fields))

    assert response.status_code == 200, response.content
    assert response.json() == {
        "provider": "mailjet",
        "stored": 1,
        "duplicates": 0,
        "skipped": [],
        "verified": True,
    }
    row = EmailEvent.objects.get()
    assert (row.provider, row.type, row.provider_event) == ("mailjet", normalized, provider_event)
    assert (row.recipient, row.message_id) == ("Ada@Example.com", str(MESSAGE_ID))
    assert row.provider_event_id == ""
    assert row.reject_reason == reject_reason
    assert row.timestamp == datetime(2015, 6, 3, 12, 19, 9, tzinfo=UTC)


def test_click_keeps_url_and_user_agent(client):
    post_mailjet(client, mailjet_event("click", url="https://shop.example/sale", agent="Mozilla"))

    row = EmailEvent.objects.get()
    assert (row.url, row.user_agent) == ("https://shop.example/sale", "Mozilla")


def test_bounce_keeps_error_as_description_and_smtp_comment_as_mta_response(client):
    comment = "Host or domain name not found. Name service error for name=nx.example type=A"
    post_mailjet(client, mailjet_event("bounce", hard_bounce=True, comment=comment, **BOUNCE))

    row = EmailEvent.objects.get()
    assert (row.description, row.mta_response) == ("user unknown", comment)


def test_sent_keeps_smtp_reply_as_mta_response(client):
    post_mailjet(client, mailjet_event(smtp_reply="sent (250 2.0.0 OK 1433333948 gsmtp)"))

    assert EmailEvent.objects.get().mta_response == "sent (250 2.0.0 OK 1433333948 gsmtp)"


def test_custom_campaign_and_payload_become_tag_and_metadata(client):
    post_mailjet(client, mailjet_event(customcampaign="autumn", Payload='{"order": "A-17"}'))

    row = EmailEvent.objects.get()
    assert (row.tags, row.metadata) == (["autumn"], {"order": "A-17"})


def test_grouped_events_are_stored_each_with_its_message_id(client):
    """Grouped posts (Event API version 2), as in Mailjet's docs, carry only mj_message_id."""
    grouped = [
        {
            "event": "sent",
            "time": 1424873938 + n,
            "email": f"r{n}@example.com",
            "customcampaign": "test",
            "mj_campaign_id": 483,
            "mj_contact_id": 4,
            "mj_message_id": f"1885882558880417{n}",
            "smtp_reply": "sent (250 2.0.0 OK)",
        }
        for n in range(3)
    ] + [mailjet_event("open", **ENGAGEMENT)]
    response = post_mailjet(client, grouped)

    assert response.status_code == 200, response.content
    assert response.json()["stored"] == 4
    stored = EmailEvent.objects.order_by("timestamp").values_list("type", "message_id")
    assert list(stored) == [
        ("delivered", "18858825588804170"),
        ("delivered", "18858825588804171"),
        ("delivered", "18858825588804172"),
        ("opened", str(MESSAGE_ID)),
    ]


def test_empty_group_answers_200_and_stores_nothing(client):
    response = post_mailjet(client, [])

    assert response.status_code == 200
    assert response.json()["stored"] == 0
    assert not EmailEvent.objects.exists()


@pytest.mark.parametrize("credentials", ["user:wrong", None])
def test_wrong_or_missing_basic_auth_is_challenged_and_stores_nothing(client, credentials):
    response = post_mailjet(client, [mailjet_event()], credentials=credentials)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="mailpulse mailjet webhook"'
    assert response.json()["error"] == "unauthorized"
    assert not EmailEvent.objects.exists()


def test_replayed_post_stores_nothing_new(client):
    batch = [mailjet_event("open", **ENGAGEMENT), mailjet_event("click", url="https://x.test")]
    first = post_mailjet(client, batch)
    again = post_mailjet(client, batch)

    assert first.json()["stored"] == 2
    assert again.status_code == 200
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 2)
    assert EmailEvent.objects.count() == 2


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(mailjet_event(), id="single event"),
        pytest.param([mailjet_event(), mailjet_event("open")], id="grouped events"),
    ],
)
def test_detected_without_provider_in_url(client, body):
    response = post_mailjet(client, body, path="/api/hook/")

    assert response.status_code == 200, response.content
    assert response.json()["provider"] == "mailjet"
    assert set(EmailEvent.objects.values_list("provider", flat=True)) == {"mailjet"}


@pytest.mark.parametrize("path", [PATH, "/api/hook/"])
def test_malformed_json_is_refused_with_reason_and_stores_nothing(client, path):
    response = post_mailjet(client, '[{"event": "sent", ', path=path)

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert "JSON" in response.json()["detail"]
    assert not EmailEvent.objects.exists()


@pytest.mark.parametrize("body", ["null", "42", '"sent"', "{}", "[1, 2]", '[{"time": 1}]'])
def test_json_that_is_not_a_mailjet_event_is_refused(client, body):
    response = post_mailjet(client, body)

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert not EmailEvent.objects.exists()


def test_unverified_post_is_accepted_when_no_secret_is_configured(client, settings):
    settings.WEBHOOK_SECRET = []
    response = post_mailjet(client, mailjet_event(), credentials=None)

    assert response.status_code == 200
    assert response.json()["verified"] is False
    assert EmailEvent.objects.count() == 1


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(None, id="form post"),
        pytest.param([], id="empty array"),
        pytest.param([mailjet_event(), {"event": "sent"}], id="one item not mailjet"),
        pytest.param({**mailjet_event(), "MessageID": "19421777835146490"}, id="string MessageID"),
        pytest.param({**mailjet_event(), "MessageID": True}, id="boolean MessageID"),
        pytest.param({**mailjet_event(), "time": "1433333949"}, id="string time"),
        pytest.param({**mailjet_event(), "event": 3}, id="event not a string"),
        pytest.param({k: v for k, v in mailjet_event().items() if k != "email"}, id="no recipient"),
        pytest.param(
            {"RecordType": "Delivery", "MessageID": "883953f4", "Recipient": "a@b.c"},
            id="postmark",
        ),
        pytest.param(
            [{"event": "delivered", "email": "a@b.c", "timestamp": 1, "sg_event_id": "e"}],
            id="sendgrid",
        ),
        pytest.param([{"msys": {"message_event": {"type": "delivery"}}}], id="sparkpost"),
        pytest.param(
            {"event": "delivered", "email": "a@b.c", "message-id": "<m@x>", "ts_event": 1},
            id="brevo",
        ),
        pytest.param(
            {"type": "email.sent", "created_at": "2024-03-01T12:00:05Z", "data": {}},
            id="resend",
        ),
    ],
)
def test_other_formats_are_not_detected_as_mailjet(payload):
    request = RequestFactory().post(
        "/api/hook/", json.dumps(payload), content_type="application/json"
    )

    assert Adapter.detect(request, payload) is False
