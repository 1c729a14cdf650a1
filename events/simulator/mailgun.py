"""Mailgun: one JSON object per post, `{"signature": {...}, "event-data": {...}}`, signed with
MAILGUN_WEBHOOK_SIGNING_KEY as hex HMAC-SHA256 of timestamp + token. The server takes a token
once and only while its timestamp is fresh, so every post gets the time and a new token."""

import hashlib
import hmac
import secrets
import time
from typing import Any

from django.conf import settings

from events.providers.base import secret_list
from events.simulator.base import JSONFormat, SimulatedEvent, smtp_reply

SENDING_DOMAIN = "mg.shop.example"
EVENT_NAMES = {
    "sent": "accepted",
    "delivered": "delivered",
    "deferred": "failed",
    "bounced": "failed",
    "opened": "opened",
    "clicked": "clicked",
    "complained": "complained",
    "unsubscribed": "unsubscribed",
    "rejected": "rejected",
}
LOG_LEVELS = {"deferred": "warn", "bounced": "error", "complained": "warn", "rejected": "warn"}


def signature(key: str) -> dict[str, str]:
    """A signature block; its signature is empty without a key, as the server then checks none."""
    timestamp, token = str(int(time.time())), secrets.token_hex(25)
    signed = f"{timestamp}{token}".encode()
    digest = hmac.new(key.encode(), signed, hashlib.sha256).hexdigest() if key else ""
    return {"timestamp": timestamp, "token": token, "signature": digest}


def _message_id(event: SimulatedEvent) -> str:
    sent = time.strftime("%Y%m%d%H%M%S", time.gmtime(event.sent_at))
    return f"{sent}.{event.message_id[:16]}@{SENDING_DOMAIN}"


def _details(event: SimulatedEvent) -> dict[str, Any]:
    """What Mailgun adds for the kind: the SMTP outcome, the rejection, or the open or click."""
    if event.type in ("delivered", "deferred", "bounced"):
        reply = smtp_reply(event)
        status = {"code": int(reply[:3]), "message": reply, "description": "", "attempt-no": 1}
        if event.type == "delivered":
            return {"delivery-status": {**status, "tls": True}}
        temporary = event.type == "deferred"
        return {
            "severity": "temporary" if temporary else "permanent",
            "reason": "generic" if temporary or event.soft else "bounce",
            "delivery-status": status,
        }
    if event.type == "rejected":
        return {"reject": {"reason": event.diagnostic, "description": ""}}
    if event.interaction:
        found = {
            "ip": event.interaction.ip,
            "client-info": {"user-agent": event.interaction.user_agent},
        }
        return {**found, "url": event.interaction.url} if event.interaction.url else found
    return {}


class MailgunFormat(JSONFormat):
    slug = "mailgun"
    one_event_per_post = True

    def event(self, event: SimulatedEvent) -> dict[str, Any]:
        return {
            "id": secrets.token_urlsafe(16),
            "timestamp": float(event.timestamp),
            "log-level": LOG_LEVELS.get(event.type, "info"),
            "event": EVENT_NAMES[event.type],
            "recipient": event.recipient,
            "recipient-domain": event.recipient.partition("@")[2],
            "tags": list(event.tags),
            "user-variables": dict(event.metadata),
            "envelope": {"sender": f"bounce@{SENDING_DOMAIN}", "targets": event.recipient},
            "flags": {"is-authenticated": True, "is-test-mode": False},
            "message": {
                "headers": {
                    "to": event.recipient,
                    "message-id": _message_id(event),
                    "from": event.sender,
                    "subject": event.subject,
                },
                "attachments": [],
                "size": 18423,
            },
            **_details(event),
        }

    def payload(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        key = next(iter(secret_list(settings.MAILGUN_WEBHOOK_SIGNING_KEY)), "")
        return {"signature": signature(key), "event-data": super().payload(batch)}

    def headers(self, payload: Any) -> dict[str, str]:
        return {}  # signed in the body
