"""Mailgun, SendGrid, SparkPost and Postmark webhooks for the tests: events shaped as in
each provider's webhook documentation, signed (or authenticated) the way the provider does."""

import base64
import hashlib
import hmac
import json
import secrets
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.events.webhook_helpers import basic_auth, post_json

BASIC_AUTH = "mailpulse:hook-pw-123"

# --- Mailgun: {"signature": {...}, "event-data": {...}}, HMAC-SHA256(key, timestamp + token)


def mailgun_signature(key: str, timestamp: str, token: str) -> str:
    return hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


def mailgun_event_data(
    event: str = "delivered",
    recipient: str = "ada@example.com",
    message_id: str = "20240501101010.1.ABC@mg.shop.example",
    event_id: str = "mg-evt-1",
    ts: float | None = None,
    **extra,
) -> dict:
    data = {
        "event": event,
        "id": event_id,
        "timestamp": ts or round(time.time() - 5, 6),
        "log-level": "info",
        "recipient": recipient,
        "recipient-domain": recipient.partition("@")[2],
        "tags": ["autumn"],
        "user-variables": {"campaign_ref": "autumn-sale"},
        "flags": {"is-authenticated": True, "is-test-mode": False},
        "envelope": {"sender": "bounce@mg.shop.example", "targets": recipient},
        "message": {
            "headers": {
                "to": recipient,
                "message-id": message_id,
                "from": "Shop <news@shop.example>",
                "subject": "Autumn sale",
            },
            "size": 3418,
        },
    }
    data.update(extra)
    return data


def mailgun_body(
    event_data: dict, key: str | None, timestamp: str | None = None, token: str | None = None
) -> dict:
    """A Mailgun post; signed with `key` when given, else with an empty signature."""
    timestamp = timestamp or str(int(time.time()))
    token = token or secrets.token_hex(25)
    signature = mailgun_signature(key, timestamp, token) if key else ""
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": event_data,
    }


def post_mailgun(client, body, path: str = "/api/hook/mailgun/"):
    return post_json(client, path, body)


# --- SendGrid: a JSON array; ECDSA P-256 over timestamp + raw body, base64 DER signature,
# and the verification key as base64 DER (SubjectPublicKeyInfo) without PEM armour.


def sendgrid_key_pair() -> tuple[ec.EllipticCurvePrivateKey, str]:
    private_key = ec.generate_private_key(ec.SECP256R1())
    public_der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_key, base64.b64encode(public_der).decode()


def sendgrid_headers(private_key, body: bytes, timestamp: str | None = None) -> dict:
    timestamp = timestamp or str(int(time.time()))
    signature = private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE": base64.b64encode(signature).decode(),
        "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP": timestamp,
    }


def sendgrid_event(
    event: str = "delivered",
    email: str = "ada@example.com",
    sg_message_id: str = "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    sg_event_id: str = "sg-evt-1",
    ts: int | None = None,
    **extra,
) -> dict:
    body = {
        "email": email,
        "timestamp": ts or int(time.time()) - 5,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": event,
        "category": ["autumn"],
        "sg_event_id": sg_event_id,
        "sg_message_id": sg_message_id,
    }
    body.update(extra)
    return body


def post_sendgrid(
    client,
    events,
    private_key=None,
    timestamp: str | None = None,
    path: str = "/api/hook/sendgrid/",
    **headers,
):
    """Post `events` (a list, or raw bytes as given), signed with `private_key` when given."""
    body = events if isinstance(events, bytes) else json.dumps(events).encode()
    if private_key is not None:
        headers = {**sendgrid_headers(private_key, body, timestamp), **headers}
    return post_json(client, path, body, **headers)


# --- SparkPost: a JSON array of {"msys": {<event class>: {...}}}; HTTP basic auth.

SPARKPOST_CLASSES = {
    "open": "track_event",
    "initial_open": "track_event",
    "click": "track_event",
    "list_unsubscribe": "unsubscribe_event",
    "link_unsubscribe": "unsubscribe_event",
    "generation_failure": "gen_event",
    "generation_rejection": "gen_event",
}


def sparkpost_event(
    event_type: str = "delivery",
    recipient: str = "ada@example.com",
    transmission_id: str = "84189224738763981",
    event_id: str = "92356927693813856",
    ts: int | None = None,
    **extra,
) -> dict:
    event = {
        "type": event_type,
        "event_id": event_id,
        "transmission_id": transmission_id,
        "message_id": "0e0d94b7-9085-4e3c-ab30-e3f2cd9c273e",
        "timestamp": str(ts or int(time.time()) - 5),
        "rcpt_to": recipient.lower(),
        "raw_rcpt_to": recipient,
        "rcpt_meta": {"campaign_ref": "autumn-sale"},
        "rcpt_tags": ["vip"],
        "campaign_id": "autumn",
        "customer_id": "1",
        "friendly_from": "news@shop.example",
        "msg_from": "bounces@sparkpostmail.com",
        "subject": "Autumn sale",
    }
    event.update(extra)
    return {"msys": {SPARKPOST_CLASSES.get(event_type, "message_event"): event}}


def post_sparkpost(client, events, auth: str | None = BASIC_AUTH, path="/api/hook/sparkpost/"):
    return post_json(client, path, events, **(basic_auth(auth) if auth else {}))


# --- Postmark: one JSON object per event, its kind in RecordType; HTTP basic auth.

# Where each record type puts its recipient and its time.
POSTMARK_FIELDS = {
    "Delivery": ("Recipient", "DeliveredAt"),
    "Bounce": ("Email", "BouncedAt"),
    "SpamComplaint": ("Email", "BouncedAt"),
    "Open": ("Recipient", "ReceivedAt"),
    "Click": ("Recipient", "ReceivedAt"),
    "SubscriptionChange": ("Recipient", "ChangedAt"),
}


def postmark_event(
    record_type: str = "Delivery",
    recipient: str = "ada@example.com",
    message_id: str = "883953f4-6105-42a2-a16a-77a8eac79483",
    at: str = "2024-05-01T10:10:10.1234567Z",
    **extra,
) -> dict:
    recipient_field, time_field = POSTMARK_FIELDS[record_type]
    event = {
        "RecordType": record_type,
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": message_id,
        recipient_field: recipient,
        time_field: at,
        "Tag": "autumn",
        "Metadata": {"campaign_ref": "autumn-sale"},
    }
    event.update(extra)
    return event


def post_postmark(client, event, auth: str | None = BASIC_AUTH, path="/api/hook/postmark/"):
    return post_json(client, path, event, **(basic_auth(auth) if auth else {}))
