"""Mailjet's Event API, version 2: grouped events, a JSON array, authenticated by basic auth
from WEBHOOK_SECRET. Mailjet's `sent` means the recipient's server took the message (our
`delivered`); it reports no event for handing a message over to be sent."""

import json
import zlib
from typing import Any

from events.simulator.base import (
    JSONFormat,
    SimulatedEvent,
    message_uuid,
    rejected_as_spam,
    smtp_reply,
)

EVENT_NAMES = {
    "delivered": "sent",
    "deferred": "bounce",
    "bounced": "bounce",
    "opened": "open",
    "clicked": "click",
    "complained": "spam",
    "unsubscribed": "unsub",
    "rejected": "blocked",
}


def _message_id(event: SimulatedEvent) -> int:
    return int(event.message_id[:14], 16)


def _details(event: SimulatedEvent) -> dict[str, Any]:
    """What Mailjet adds for the kind: the SMTP outcome, its error name, or the open or click.
    A greylisting bounce that is not hard is how Mailjet reports a deferral."""
    if event.type == "delivered":
        return {
            "mj_message_id": str(_message_id(event)),
            "smtp_reply": f"sent ({smtp_reply(event)})",
        }
    if event.type in ("deferred", "bounced"):
        if event.type == "deferred":
            related_to, error = "domain", "greylisted"
        else:
            related_to, error = "recipient", "quota exceeded" if event.soft else "user unknown"
        return {
            "blocked": False,
            "hard_bounce": event.type == "bounced" and not event.soft,
            "error_related_to": related_to,
            "error": error,
            "comment": smtp_reply(event),
        }
    if event.type == "rejected":
        if rejected_as_spam(event):
            return {"error_related_to": "recipient", "error": "spam reporter"}
        return {"error_related_to": "mailjet", "error": "preblocked"}
    if event.type == "complained":
        return {"source": "JMRPP"}
    if event.interaction:
        found = {"ip": event.interaction.ip, "agent": event.interaction.user_agent}
        return {**found, "url": event.interaction.url} if event.interaction.url else found
    return {}


class MailjetFormat(JSONFormat):
    slug = "mailjet"
    unreported = frozenset({"sent"})

    def event(self, event: SimulatedEvent) -> dict[str, Any]:
        return {
            "event": EVENT_NAMES[event.type],
            "time": event.timestamp,
            "MessageID": _message_id(event),
            "Message_GUID": message_uuid(event),
            "email": event.recipient,
            "mj_campaign_id": 0,
            "mj_contact_id": zlib.crc32(event.recipient.encode()),
            "customcampaign": event.tags[0] if event.tags else "",
            "CustomID": "",
            "Payload": json.dumps(event.metadata) if event.metadata else "",
            **_details(event),
        }
