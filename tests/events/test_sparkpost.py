import pytest

from events.models import EmailEvent
from events.providers.sparkpost import Adapter
from tests.events.signed_providers import (
    BASIC_AUTH,
    mailgun_body,
    mailgun_event_data,
    post_sparkpost,
    postmark_event,
    sendgrid_event,
    sparkpost_event,
)
from tests.events.webhook_helpers import post_json

TRANSMISSION_ID = "84189224738763981"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _basic_auth(settings):
    settings.WEBHOOK_SECRET = [BASIC_AUTH]


HARD_BOUNCE = {
    "bounce_class": "10",
    "error_code": "550",
    "reason": "550 5.1.1 <ada@example.com>: Recipient address rejected",
    "raw_reason": "550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown",
}
SOFT_BOUNCE = {
    "bounce_class": "22",
    "error_code": "452",
    "raw_reason": "452 4.2.2 Mailbox full",
}


@pytest.mark.parametrize(
    ("provider_event", "extra", "normalized"),
    [
        ("injection", {}, "queued"),
        ("delivery", {"queue_time": "3004", "num_retries": "0"}, "delivered"),
        ("bounce", HARD_BOUNCE, "bounced"),
        ("bounce", SOFT_BOUNCE, "bounced"),
        ("delay", {"num_retries": "1", "raw_reason": "452 4.2.2 Mailbox full"}, "deferred"),
        ("out_of_band", HARD_BOUNCE, "bounced"),
        (
            "policy_rejection",
            {"bounce_class": "25", "raw_reason": "550 5.7.1 Blocked by policy"},
            "rejected",
        ),
        ("generation_rejection", {"raw_reason": "554 5.7.1 Recipient suppressed"}, "rejected"),
        ("generation_failure", {"raw_reason": "554 5.3.3 Template error"}, "failed"),
        ("open", {"user_agent": "Mozilla/5.0", "ip_address": "10.0.0.1"}, "opened"),
        ("click", {"target_link_url": "https://shop.example/sale"}, "clicked"),
        ("spam_complaint", {"fbtype": "abuse", "report_by": "isp.example"}, "complained"),
        ("list_unsubscribe", {"mailfrom": "unsub@shop.example"}, "unsubscribed"),
        ("link_unsubscribe", {"target_link_url": "https://shop.example/unsub"}, "unsubscribed"),
    ],
    ids=[
        "injection",
        "delivery",
        "bounce-hard",
        "bounce-soft",
        "delay",
        "out_of_band",
        "policy_rejection",
        "generation_rejection",
        "generation_failure",
        "open",
        "click",
        "spam_complaint",
        "list_unsubscribe",
        "link_unsubscribe",
    ],
)
def test_authenticated_event_is_stored_normalized(client, provider_event, extra, normalized):
    event = sparkpost_event(provider_event, recipient="Ada@Example.com", event_id="sp-42", **extra)
    response = post_sparkpost(client, [event])

    assert response.status_code == 200, response.content
    assert response.json() == {
        "provider": "sparkpost",
        "stored": 1,
        "duplicates": 0,
        "skipped": [],
        "verified": True,
    }
    row = EmailEvent.objects.get()
    assert (row.provider, row.type, row.provider_event) == (
        "sparkpost",
        normalized,
        provider_event,
    )
    assert (row.recipient, row.message_id) == ("Ada@Example.com", TRANSMISSION_ID)
    assert row.provider_event_id == "sp-42"
    assert row.tags == ["autumn"]
    assert row.metadata == {"campaign_ref": "autumn-sale"}
    (inner,) = event["msys"].values()
    assert int(row.timestamp.timestamp()) == int(inner["timestamp"])
    assert row.raw == event


def test_click_keeps_url_and_user_agent(client):
    event = sparkpost_event(
        "click", target_link_url="https://shop.example/sale", user_agent="Mozilla/5.0"
    )
    post_sparkpost(client, [event])

    row = EmailEvent.objects.get()
    assert (row.url, row.user_agent) == ("https://shop.example/sale", "Mozilla/5.0")


def test_bounce_keeps_mta_response_and_reject_reason(client):
    post_sparkpost(client, [sparkpost_event("bounce", **HARD_BOUNCE)])

    row = EmailEvent.objects.get()
    assert row.mta_response == HARD_BOUNCE["raw_reason"]
    assert row.reject_reason == "invalid"


def test_batch_is_stored_in_one_request_and_a_replay_stores_nothing_new(client):
    batch = [
        sparkpost_event("injection", event_id="1"),
        sparkpost_event("delivery", event_id="2"),
        sparkpost_event("open", event_id="3"),
    ]
    first = post_sparkpost(client, batch)
    again = post_sparkpost(client, batch)

    assert first.json()["stored"] == 3
    assert again.status_code == 200
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 3)
    assert EmailEvent.objects.count() == 3


def test_ping_on_webhook_creation_answers_200_and_stores_nothing(client):
    response = post_sparkpost(client, [{"msys": {}}])

    assert response.status_code == 200
    assert response.json()["stored"] == 0
    assert not EmailEvent.objects.exists()


@pytest.mark.parametrize("auth", ["mailpulse:wrong-pw", None], ids=["wrong", "missing"])
def test_wrong_or_missing_basic_auth_gets_401_and_stores_nothing(client, auth):
    response = post_sparkpost(client, [sparkpost_event()], auth=auth)

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response["WWW-Authenticate"] == 'Basic realm="mailpulse sparkpost webhook"'
    assert not EmailEvent.objects.exists()


def test_any_configured_credential_is_accepted(client, settings):
    settings.WEBHOOK_SECRET = ["old:pw-1", BASIC_AUTH]

    assert post_sparkpost(client, [sparkpost_event()]).status_code == 200


# anymail rightly warns that this webhook is open; the app ignores it (events/apps.py).
def test_unauthenticated_post_is_accepted_when_no_secret_is_configured(client, settings):
    settings.WEBHOOK_SECRET = []
    response = post_sparkpost(client, [sparkpost_event()], auth=None)

    assert response.status_code == 200
    assert response.json()["verified"] is False
    assert EmailEvent.objects.count() == 1


def test_detected_without_provider_in_url(client):
    response = post_sparkpost(client, [sparkpost_event()], path="/api/hook/")

    assert response.status_code == 200
    assert response.json()["provider"] == "sparkpost"
    assert EmailEvent.objects.get().provider == "sparkpost"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"msys": {}},
        [{"msys": "delivery"}],
        [{"msys": []}],
        [sparkpost_event(), {"event": "delivered"}],
        [sparkpost_event(), None],
        mailgun_body(mailgun_event_data(), key=None),
        [sendgrid_event()],
        postmark_event(),
    ],
)
def test_only_sparkpost_payloads_are_detected(payload):
    assert not Adapter.detect(None, payload)


@pytest.mark.parametrize(
    "body",
    [
        b'[{"msys": {"message_event": ',
        b'{"msys": {}}',
        b'[{"msys": {"message_event": {"type": "delivery"}, "track_event": {"type": "open"}}}]',
        b'[{"msys": {"message_event": {"raw_rcpt_to": "ada@example.com"}}}]',
    ],
    ids=["not-json", "object-not-array", "two-event-classes", "event-without-type"],
)
def test_malformed_body_gets_400_and_stores_nothing(client, body):
    response = post_sparkpost(client, body)

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert not EmailEvent.objects.exists()


def test_malformed_json_without_provider_in_url_gets_400(client):
    response = post_json(client, "/api/hook/", b'[{"msys": ')

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
