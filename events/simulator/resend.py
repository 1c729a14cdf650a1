"""Resend: one JSON event per post, delivered through Svix, authenticated by basic auth from
WEBHOOK_SECRET. The `svix-id` header names the event; Svix's signature is left out, as the
server does not check it. Tags and metadata travel as the X-Tags and X-Metadata headers of
the email (how anymail sends them). Resend reports no unsubscribes."""

import json
import secrets
import string
import time
from typing import Any

from events.simulator.base import JSONFormat, SimulatedEvent, basic_auth, iso_time, message_uuid

EVENT_TYPES = {
    "sent": "email.sent",
    "delivered": "email.delivered",
    "deferred": "email.delivery_delayed",
    "bounced": "email.bounced",
    "opened": "email.opened",
    "clicked": "email.clicked",
    "complained": "email.complained",
    "rejected": "email.suppressed",
}
HARD_BOUNCE = {
    "message": "The recipient's email provider sent a hard bounce message.",
    "subType": "General",
    "type": "Permanent",
}
SOFT_BOUNCE = {
    "message": "The recipient's email provider sent a bounce message because the recipient's "
    "inbox was full.",
    "subType": "MailboxFull",
    "type": "Transient",
}
SVIX_ID_ALPHABET = string.ascii_letters + string.digits


def _headers(event: SimulatedEvent) -> list[dict[str, str]]:
    values = {"X-Tags": list(event.tags), "X-Metadata": dict(event.metadata)}
    return [{"name": name, "value": json.dumps(value)} for name, value in values.items() if value]


def _details(event: SimulatedEvent) -> dict[str, Any]:
    """What Resend adds for the kind: the bounce, the suppression, or the click."""
    if event.type == "bounced":
        bounce = SOFT_BOUNCE if event.soft else HARD_BOUNCE
        return {"bounce": {**bounce, "diagnosticCode": [event.diagnostic]}}
    if event.type == "rejected":
        return {"suppressed": {"message": event.diagnostic, "type": "OnAccountSuppressionList"}}
    if event.interaction and event.interaction.url:
        click = {
            "ipAddress": event.interaction.ip,
            "link": event.interaction.url,
            "timestamp": iso_time(event.interaction.ts),
            "userAgent": event.interaction.user_agent,
        }
        return {"click": click}
    return {}


class ResendFormat(JSONFormat):
    slug = "resend"
    one_event_per_post = True
    unreported = frozenset({"unsubscribed"})

    def event(self, event: SimulatedEvent) -> dict[str, Any]:
        data = {
            "created_at": iso_time(event.sent_at),
            "email_id": message_uuid(event),
            "from": event.sender,
            "to": [event.recipient],
            "subject": event.subject,
            "headers": _headers(event),
            **_details(event),
        }
        return {
            "type": EVENT_TYPES[event.type],
            "created_at": iso_time(event.timestamp),
            "data": data,
        }

    def headers(self, payload: Any) -> dict[str, str]:
        svix_id = "msg_" + "".join(secrets.choice(SVIX_ID_ALPHABET) for _ in range(27))
        return {**basic_auth(), "svix-id": svix_id, "svix-timestamp": str(int(time.time()))}
