import json
import time

import pytest

from events.models import EmailEvent
from events.providers.sendgrid import Adapter
from tests.events.signed_providers import (
    mailgun_body,
    mailgun_event_data,
    post_sendgrid,
    postmark_event,
    sendgrid_event,
    sendgrid_headers,
    sendgrid_key_pair,
    sparkpost_event,
)

SG_MESSAGE_ID = "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def key_pair():
    return sendgrid_key_pair()


@pytest.fixture
def private_key(key_pair, settings):
    """SendGrid's signing key; its public half is configured as the verification key."""
    private, public_b64 = key_pair
    settings.SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY = public_b64
    settings.WEBHOOK_MAX_AGE_S = 900
    return private


@pytest.mark.parametrize(
    ("provider_event", "extra", "normalized"),
    [
        ("processed", {}, "queued"),
        ("delivered", {"response": "250 OK", "ip": "168.1.1.1", "tls": 1}, "delivered"),
        ("deferred", {"response": "400 try again later", "attempt": "5"}, "deferred"),
        (
            "bounce",
            {
                "type": "bounce",
                "reason": "550 5.1.1 The email account does not exist",
                "status": "5.1.1",
                "bounce_classification": "Invalid Address",
            },
            "bounced",
        ),
        (
            "bounce",
            {
                "type": "blocked",
                "reason": "421 4.7.0 Try again later, closing connection",
                "status": "4.7.0",
                "bounce_classification": "Reputation",
            },
            "bounced",
        ),
        ("dropped", {"reason": "Bounced Address", "status": "5.0.0"}, "rejected"),
        (
            "open",
            {"useragent": "Mozilla/5.0", "ip": "10.0.0.1", "sg_machine_open": False},
            "opened",
        ),
        ("click", {"url": "https://shop.example/sale", "url_offset": {"index": 0}}, "clicked"),
        ("spamreport", {}, "complained"),
        ("unsubscribe", {}, "unsubscribed"),
        ("group_unsubscribe", {"asm_group_id": 10}, "unsubscribed"),
        ("group_resubscribe", {"asm_group_id": 10}, "subscribed"),
    ],
    ids=[
        "processed",
        "delivered",
        "deferred",
        "bounce-hard",
        "bounce-blocked-soft",
        "dropped",
        "open",
        "click",
        "spamreport",
        "unsubscribe",
        "group_unsubscribe",
        "group_resubscribe",
    ],
)
def test_signed_event_is_stored_normalized(client, private_key, provider_event, extra, normalized):
    event = sendgrid_event(provider_event, email="Ada@Example.com", sg_event_id="sg-42", **extra)
    response = post_sendgrid(client, [event], private_key)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "provider": "sendgrid",
        "stored": 1,
        "duplicates": 0,
        "skipped": [],
        "verified": True,
    }
    row = EmailEvent.objects.get()
    assert (row.provider, row.type, row.provider_event) == ("sendgrid", normalized, provider_event)
    assert (row.recipient, row.message_id) == ("Ada@Example.com", SG_MESSAGE_ID)
    assert row.provider_event_id == "sg-42"
    assert row.tags == ["autumn"]
    assert int(row.timestamp.timestamp()) == event["timestamp"]
    assert row.raw == event


def test_click_keeps_url_and_user_agent(client, private_key):
    event = sendgrid_event("click", url="https://shop.example/sale", useragent="Mozilla/5.0")
    post_sendgrid(client, [event], private_key)

    row = EmailEvent.objects.get()
    assert (row.url, row.user_agent) == ("https://shop.example/sale", "Mozilla/5.0")


def test_bounce_keeps_mta_response(client, private_key):
    event = sendgrid_event("bounce", type="bounce", reason="550 5.1.1 unknown user")
    post_sendgrid(client, [event], private_key)

    assert EmailEvent.objects.get().mta_response == "550 5.1.1 unknown user"


def test_dropped_keeps_the_reject_reason(client, private_key):
    event = sendgrid_event("dropped", reason="Bounced Address", status="5.0.0")
    post_sendgrid(client, [event], private_key)

    row = EmailEvent.objects.get()
    assert (row.type, row.reject_reason) == ("rejected", "bounced")


def test_custom_args_become_metadata(client, private_key):
    event = sendgrid_event("delivered", campaign_id="7", shop_user="u-9")
    post_sendgrid(client, [event], private_key)

    assert EmailEvent.objects.get().metadata == {"campaign_id": "7", "shop_user": "u-9"}


def test_batch_is_stored_in_one_request_and_a_replay_stores_nothing_new(client, private_key):
    batch = [
        sendgrid_event("processed", sg_event_id="e1"),
        sendgrid_event("delivered", sg_event_id="e2"),
        sendgrid_event("open", sg_event_id="e3"),
    ]
    first = post_sendgrid(client, batch, private_key)
    again = post_sendgrid(client, batch, private_key)

    assert first.json()["stored"] == 3
    assert again.status_code == 200
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 3)
    assert EmailEvent.objects.count() == 3


def test_signature_from_another_key_is_refused_and_stores_nothing(client, private_key):
    other_key, _ = sendgrid_key_pair()
    response = post_sendgrid(client, [sendgrid_event()], other_key)

    assert response.status_code == 403
    assert response.json()["error"] == "bad_signature"
    assert not EmailEvent.objects.exists()


def test_body_changed_after_signing_is_refused(client, private_key):
    signed = json.dumps([sendgrid_event("delivered")]).encode()
    tampered = json.dumps([sendgrid_event("open")]).encode()
    response = post_sendgrid(client, tampered, **sendgrid_headers(private_key, signed))

    assert response.status_code == 403
    assert not EmailEvent.objects.exists()


def test_timestamp_changed_after_signing_is_refused(client, private_key):
    body = json.dumps([sendgrid_event()]).encode()
    headers = sendgrid_headers(private_key, body)
    headers["HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP"] = str(int(time.time()) - 1)
    response = post_sendgrid(client, body, **headers)

    assert response.status_code == 403
    assert response.json()["error"] == "bad_signature"


@pytest.mark.parametrize(
    "header", ["X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp"]
)
def test_missing_signature_header_is_refused(client, private_key, header):
    body = json.dumps([sendgrid_event()]).encode()
    headers = sendgrid_headers(private_key, body)
    del headers["HTTP_" + header.upper().replace("-", "_")]
    response = post_sendgrid(client, body, **headers)

    assert response.status_code == 403
    assert header in response.json()["detail"]
    assert not EmailEvent.objects.exists()


@pytest.mark.parametrize("signature", ["", "not base64!", "c2lnbmF0dXJl", "sïgnature"])
def test_garbage_signature_is_refused_not_crashed_on(client, private_key, signature):
    response = post_sendgrid(
        client,
        [sendgrid_event()],
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=signature,
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP=str(int(time.time())),
    )

    assert response.status_code == 403
    assert response.json()["error"] == "bad_signature"
    assert not EmailEvent.objects.exists()


@pytest.mark.parametrize(
    ("offset", "words"), [(-901, "s old"), (-7 * 86400, "s old"), (+3600, "in the future")]
)
def test_signature_outside_the_age_window_is_refused(client, private_key, offset, words):
    timestamp = str(int(time.time()) + offset)
    response = post_sendgrid(client, [sendgrid_event()], private_key, timestamp=timestamp)

    assert response.status_code == 403
    assert response.json()["error"] == "stale_signature"
    assert words in response.json()["detail"]
    assert not EmailEvent.objects.exists()


def test_signed_timestamp_that_is_not_a_number_is_refused(client, private_key):
    response = post_sendgrid(client, [sendgrid_event()], private_key, timestamp="yesterday")

    assert response.status_code == 403
    assert response.json()["error"] == "stale_signature"


def test_signature_inside_the_age_window_is_accepted(client, private_key):
    timestamp = str(int(time.time()) - 840)
    response = post_sendgrid(client, [sendgrid_event()], private_key, timestamp=timestamp)

    assert response.status_code == 200
    assert EmailEvent.objects.count() == 1


# anymail rightly warns that this webhook is open; the app ignores it (events/apps.py).
def test_unsigned_post_is_accepted_when_no_key_is_configured(client, settings):
    settings.SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY = ""
    response = post_sendgrid(client, [sendgrid_event()])

    assert response.status_code == 200
    assert response.json()["verified"] is False
    assert EmailEvent.objects.count() == 1


def test_detected_without_provider_in_url(client, private_key):
    response = post_sendgrid(client, [sendgrid_event()], private_key, path="/api/hook/")

    assert response.status_code == 200
    assert response.json()["provider"] == "sendgrid"
    assert EmailEvent.objects.get().provider == "sendgrid"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"sg_event_id": "e1"},
        [{"event": "delivered", "email": "ada@example.com"}],
        [{"sg_event_id": 5}],
        [sendgrid_event(), "not an event"],
        [sendgrid_event(), {"event": "open"}],
        mailgun_body(mailgun_event_data(), key=None),
        [sparkpost_event()],
        postmark_event(),
    ],
)
def test_only_sendgrid_payloads_are_detected(payload):
    assert not Adapter.detect(None, payload)


def test_event_carrying_only_sg_message_id_is_detected():
    event = sendgrid_event()
    del event["sg_event_id"]

    assert Adapter.detect(None, [event])


@pytest.mark.parametrize(
    "body",
    [b'[{"event": "delivered", ', b'{"event": "delivered"}', b'[{"email": "ada@example.com"}]'],
    ids=["not-json", "object-not-array", "event-without-kind"],
)
def test_malformed_signed_body_gets_400_and_stores_nothing(client, private_key, body):
    response = post_sendgrid(client, body, private_key)

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert not EmailEvent.objects.exists()


def test_malformed_json_without_provider_in_url_gets_400(client):
    response = post_sendgrid(client, b'[{"sg_event_id": ', path="/api/hook/")

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
