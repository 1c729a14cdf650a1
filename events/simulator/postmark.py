"""Postmark: one JSON object per event, its kind in `RecordType` (a bounce's in `Type` too),
authenticated by basic auth from WEBHOOK_SECRET. Postmark posts nothing when it sends a
message or refuses one at its API, so it reports no `sent` or `rejected`."""

import secrets
from typing import Any

from events.simulator.base import JSONFormat, SimulatedEvent, iso_time, message_uuid

# Each kind's record type, and where that record puts the recipient and the time.
RECORDS = {
    "delivered": ("Delivery", "Recipient", "DeliveredAt"),
    "deferred": ("Bounce", "Email", "BouncedAt"),
    "bounced": ("Bounce", "Email", "BouncedAt"),
    "opened": ("Open", "Recipient", "ReceivedAt"),
    "clicked": ("Click", "Recipient", "ReceivedAt"),
    "complained": ("SpamComplaint", "Email", "BouncedAt"),
    "unsubscribed": ("SubscriptionChange", "Recipient", "ChangedAt"),
}
# Postmark's bounce types as its bounce records name and describe them.
BOUNCES = {
    "deferred": {
        "Type": "Transient",
        "TypeCode": 2,
        "Name": "Message delayed",
        "Description": "The server could not temporarily deliver your message.",
    },
    "hard": {
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Description": "The server was unable to deliver your message (ex: unknown user).",
    },
    "soft": {
        "Type": "SoftBounce",
        "TypeCode": 4096,
        "Name": "Soft bounce/Undeliverable",
        "Description": "Unable to temporarily deliver this email.",
    },
    "complained": {
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "Description": "The subscriber explicitly marked this email as spam.",
    },
}
DEACTIVATING = {"HardBounce", "SpamComplaint"}


def _bounce(event: SimulatedEvent) -> dict[str, Any]:
    bounce = BOUNCES[("soft" if event.soft else "hard") if event.type == "bounced" else event.type]
    return {
        "ID": 10**9 + secrets.randbelow(9 * 10**9),
        **bounce,
        "Details": event.diagnostic,
        "From": event.sender,
        "Subject": event.subject,
        "Inactive": bounce["Type"] in DEACTIVATING,
        "CanActivate": True,
        "DumpAvailable": False,
    }


def _details(event: SimulatedEvent) -> dict[str, Any]:
    """What the record holds besides the common fields."""
    if event.type in ("deferred", "bounced", "complained"):
        return _bounce(event)
    if event.type == "delivered":
        return {"Details": event.diagnostic}
    if event.type == "unsubscribed":
        return {"SuppressSending": True, "SuppressionReason": "ManualSuppression"}
    if event.interaction:
        seen = {"UserAgent": event.interaction.user_agent, "Geo": {"IP": event.interaction.ip}}
        if event.interaction.url:
            return {**seen, "ClickLocation": "HTML", "OriginalLink": event.interaction.url}
        return {**seen, "FirstOpen": len(event.opens) == 1}
    return {}


class PostmarkFormat(JSONFormat):
    slug = "postmark"
    one_event_per_post = True
    unreported = frozenset({"sent", "rejected"})

    def event(self, event: SimulatedEvent) -> dict[str, Any]:
        record_type, recipient_field, time_field = RECORDS[event.type]
        return {
            "RecordType": record_type,
            "ServerID": 23,
            "MessageStream": "outbound",
            "MessageID": message_uuid(event),
            recipient_field: event.recipient,
            time_field: iso_time(event.timestamp),
            "Tag": event.tags[0] if event.tags else "",
            "Metadata": dict(event.metadata),
            **_details(event),
        }
