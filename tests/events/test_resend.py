import json
from datetime import UTC, datetime

import pytest
from django.test import RequestFactory

from events.models import EmailEvent
from events.providers.resend import Adapter
from tests.events.webhook_helpers import basic_auth, post_json

pytestmark = pytest.mark.django_db(transaction=True)

CREDENTIALS = "user:pass"
PATH = "/api/hook/resend/"
EMAIL_ID = "56761188-7520-42d8-8898-ff6fc54ce618"
SVIX_ID = "msg_2W2D3qXLS5fOaPja1GDg7rF2CwB"


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.WEBHOOK_SECRET = [CREDENTIALS]


def resend_event(event_type: str = "email.delivered", **data) -> dict:
    """One email event, shaped as in Resend's webhook event type docs."""
    body = {
        "type": event_type,
        "created_at": "2024-11-22T23:41:12.126Z",
        "data": {
            "created_at": "2024-11-22T23:41:11.894719+00:00",
            "email_id": EMAIL_ID,
            "from": "Acme <onboarding@resend.dev>",
            "to": ["Ada Lovelace <Ada@Example.com>", "bob@example.com"],
            "subject": "Sending this example",
            "tags": {"category": "confirm_email"},
        },
    }
    body["data"].update(data)
    return body


def svix_headers(svix_id: str = SVIX_ID, timestamp: int = 1732318872) -> dict:
    """The headers Svix adds to every post; the signature is not checked (basic auth is)."""
    return {
        "HTTP_SVIX_ID": svix_id,
        "HTTP_SVIX_TIMESTAMP": str(timestamp),
        "HTTP_SVIX_SIGNATURE": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


def post_resend(
    client, body, path: str = PATH, credentials: str | None = CREDENTIALS, svix_id: str = SVIX_ID
):
    headers = {**(basic_auth(credentials) if credentials else {}), **svix_headers(svix_id)}
    return post_json(client, path, body, **headers)


HARD_BOUNCE = {
    "message": "The recipient's email provider sent a hard bounce message.",
    "subType": "General",
    "type": "Permanent",
}


@pytest.mark.parametrize(
    ("provider_event", "data", "normalized", "reject_reason"),
    [
        pytest.param("email.scheduled", {}, "queued", "", id="scheduled"),
        pytest.param("email.sent", {}, "sent", "", id="sent"),
        pytest.param("email.delivered", {}, "delivered", "", id="delivered"),
        pytest.param("email.delivery_delayed", {}, "deferred", "", id="delivery delayed"),
        pytest.param("email.bounced", {"bounce": HARD_BOUNCE}, "bounced", "bounced", id="hard"),
        pytest.param(
            "email.bounced",
            {
                "bounce": {
                    "message": "The recipient's email provider sent a bounce message because"
                    " the recipient's inbox was full.",
                    "subType": "MailboxFull",
                    "type": "Transient",
                }
            },
            "bounced",
            "bounced",
            id="soft bounce",
        ),
        pytest.param("email.opened", {}, "opened", "", id="opened"),
        pytest.param(
            "email.clicked", {"click": {"link": "https://resend.com"}}, "clicked", "", id="clicked"
        ),
        pytest.param("email.complained", {}, "complained", "", id="complained"),
        pytest.param(
            "email.failed", {"failed": {"reason": "reached_daily_quota"}}, "failed", "", id="failed"
        ),
        pytest.param(
            "email.suppressed",
            {
                "suppressed": {
                    "message": "On the suppression list",
                    "type": "OnAccountSuppressionList",
                }
            },
            "rejected",
            "blocked",
            id="suppressed",
        ),
    ],
)
def test_each_event_kind_is_stored_normalized(
    client, provider_event, data, normalized, reject_reason
):
    response = post_resend(client, resend_event(provider_event, **data))

    assert response.status_code == 200, response.content
    assert response.json() == {
        "provider": "resend",
        "stored": 1,
        "duplicates": 0,
        "skipped": [],
        "verified": True,
    }
    row = EmailEvent.objects.get()
    assert (row.provider, row.type, row.provider_event) == ("resend", normalized, provider_event)
    assert (row.recipient, row.message_id) == ("Ada@Example.com", EMAIL_ID)
    assert row.provider_event_id == SVIX_ID
    assert row.reject_reason == reject_reason
    assert row.timestamp == datetime(2024, 11, 22, 23, 41, 12, 126000, tzinfo=UTC)


def test_click_keeps_link_and_user_agent(client):
    click = {
        "ipAddress": "122.115.53.11",
        "link": "https://resend.com/pricing",
        "timestamp": "2024-11-24T05:00:57.163Z",
        "userAgent": "Mozilla/5.0 (Macintosh) Safari/605.1.15",
    }
    post_resend(client, resend_event("email.clicked", click=click))

    row = EmailEvent.objects.get()
    assert (row.url, row.user_agent) == (click["link"], click["userAgent"])


def test_bounce_keeps_message_as_description_and_smtp_diagnostics_as_mta_response(client):
    bounce = {
        **HARD_BOUNCE,
        "diagnosticCode": ["smtp; 550 5.1.1 user unknown", "smtp; 550 5.1.1 no such mailbox"],
    }
    post_resend(client, resend_event("email.bounced", bounce=bounce))

    row = EmailEvent.objects.get()
    assert row.description == HARD_BOUNCE["message"]
    assert row.mta_response == "smtp; 550 5.1.1 user unknown\nsmtp; 550 5.1.1 no such mailbox"


@pytest.mark.parametrize(
    ("provider_event", "data", "description"),
    [
        ("email.failed", {"failed": {"reason": "reached_daily_quota"}}, "reached_daily_quota"),
        (
            "email.suppressed",
            {"suppressed": {"message": "Resend has suppressed sending to this address."}},
            "Resend has suppressed sending to this address.",
        ),
    ],
)
def test_failure_details_are_kept_as_description(client, provider_event, data, description):
    post_resend(client, resend_event(provider_event, **data))

    assert EmailEvent.objects.get().description == description


def test_tags_and_metadata_headers_are_kept(client):
    headers = [
        {"name": "X-Tags", "value": '["orders", "eu"]'},
        {"name": "X-Metadata", "value": '{"order": "A-17"}'},
    ]
    post_resend(client, resend_event(headers=headers))

    row = EmailEvent.objects.get()
    assert (row.tags, row.metadata) == (["orders", "eu"], {"order": "A-17"})


def test_inbound_email_is_skipped_and_listed(client):
    response = post_resend(client, resend_event("email.received", message_id="<example+123>"))

    assert response.status_code == 200
    assert response.json()["skipped"] == [{"index": 0, "reason": "inbound mail is not handled"}]
    assert not EmailEvent.objects.exists()


def test_non_email_event_is_skipped_and_listed(client):
    contact = {"type": "contact.created", "created_at": "2024-11-22T23:41:12.126Z", "data": {}}
    response = post_resend(client, contact)

    assert response.status_code == 200
    assert response.json()["stored"] == 0
    assert response.json()["skipped"] == [
        {"index": 0, "reason": "event has neither a recipient nor a message id"}
    ]


@pytest.mark.parametrize("credentials", ["user:wrong", None])
def test_wrong_or_missing_basic_auth_is_challenged_and_stores_nothing(client, credentials):
    response = post_resend(client, resend_event(), credentials=credentials)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="mailpulse resend webhook"'
    assert response.json()["error"] == "unauthorized"
    assert not EmailEvent.objects.exists()


def test_svix_retry_of_an_event_stores_nothing_new(client):
    """Svix retries an event with the same svix-id and body, and a new svix-timestamp."""
    event = resend_event("email.opened")
    first = post_json(client, PATH, event, **basic_auth(CREDENTIALS), **svix_headers())
    again = post_json(
        client, PATH, event, **basic_auth(CREDENTIALS), **svix_headers(timestamp=1732319172)
    )

    assert first.json()["stored"] == 1
    assert again.status_code == 200
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 1)
    assert EmailEvent.objects.count() == 1


def test_replayed_post_without_svix_id_is_deduped_by_content(client):
    event = resend_event("email.opened")
    first = post_json(client, PATH, event, **basic_auth(CREDENTIALS))
    again = post_json(client, PATH, event, **basic_auth(CREDENTIALS))

    assert EmailEvent.objects.get().provider_event_id == ""
    assert (first.json()["stored"], again.json()["duplicates"]) == (1, 1)


def test_detected_without_provider_in_url(client):
    response = post_resend(client, resend_event("email.delivered"), path="/api/hook/")

    assert response.status_code == 200, response.content
    assert response.json()["provider"] == "resend"
    assert EmailEvent.objects.get().provider == "resend"


@pytest.mark.parametrize("path", [PATH, "/api/hook/"])
def test_malformed_json_is_refused_with_reason_and_stores_nothing(client, path):
    response = post_resend(client, '{"type": "email.sent", ', path=path)

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert "JSON" in response.json()["detail"]
    assert not EmailEvent.objects.exists()


@pytest.mark.parametrize(
    "body", ["null", "42", '"email.sent"', "[1, 2]", "{}", '{"type": "email.sent", "data": "x"}']
)
def test_json_that_is_not_a_resend_event_is_refused(client, body):
    response = post_resend(client, body)

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert not EmailEvent.objects.exists()


def test_unverified_post_is_accepted_when_no_secret_is_configured(client, settings):
    settings.WEBHOOK_SECRET = []
    response = post_resend(client, resend_event(), credentials=None)

    assert response.status_code == 200
    assert response.json()["verified"] is False
    assert EmailEvent.objects.count() == 1


def test_anymail_signing_secret_setting_does_not_replace_basic_auth(client, settings):
    """anymail would verify Svix signatures (and need the svix package) with this setting."""
    settings.ANYMAIL = {**settings.ANYMAIL, "RESEND_SIGNING_SECRET": "whsec_dGVzdC1zZWNyZXQ="}

    accepted = post_resend(client, resend_event())
    refused = post_resend(client, resend_event(), credentials=None)

    assert accepted.status_code == 200, accepted.content
    assert refused.status_code == 401
    assert EmailEvent.objects.count() == 1


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(None, id="form post"),
        pytest.param([resend_event()], id="array of resend events"),
        pytest.param({**resend_event(), "type": "contact.created"}, id="not an email event"),
        pytest.param({**resend_event(), "type": None}, id="type not a string"),
        pytest.param({**resend_event(), "data": [EMAIL_ID]}, id="data not an object"),
        pytest.param({**resend_event(), "created_at": 1732318872}, id="created_at not a string"),
        pytest.param(
            {"event_id": "evt_2bH7", "type": "email.delivered", "data": {"object": {"id": "em_4"}}},
            id="emailit lookalike",
        ),
        pytest.param(
            {"Type": "Notification", "MessageId": "m", "Message": '{"eventType": "Delivery"}'},
            id="amazon ses via sns",
        ),
        pytest.param(
            {"signature": {"token": "t"}, "event-data": {"event": "delivered"}}, id="mailgun"
        ),
        pytest.param(
            {"event": "delivered", "email": "a@b.c", "message-id": "<m@x>", "ts_event": 1},
            id="brevo",
        ),
        pytest.param(
            {"event": "sent", "time": 1433333949, "MessageID": 19421777835146490, "email": "a@b.c"},
            id="mailjet",
        ),
    ],
)
def test_other_formats_are_not_detected_as_resend(payload):
    request = RequestFactory().post(
        "/api/hook/", json.dumps(payload), content_type="application/json"
    )

    assert Adapter.detect(request, payload) is False
