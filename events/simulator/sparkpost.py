"""SparkPost: a JSON array of `{"msys": {<event class>: {...}}}`, authenticated by basic auth
from WEBHOOK_SECRET. The message is named by its transmission, its tag is its campaign."""

import secrets
from typing import Any

from events.simulator.base import JSONFormat, SimulatedEvent, iso_time, smtp_reply

EVENT_TYPES = {
    "sent": "injection",
    "delivered": "delivery",
    "deferred": "delay",
    "bounced": "bounce",
    "opened": "open",
    "clicked": "click",
    "complained": "spam_complaint",
    "unsubscribed": "list_unsubscribe",
    "rejected": "policy_rejection",
}
EVENT_CLASSES = {
    "opened": "track_event",
    "clicked": "track_event",
    "unsubscribed": "unsubscribe_event",
}
# SparkPost's bounce classes: undetermined, invalid recipient, mailbox full, admin failure.
BOUNCE_CLASSES = {"deferred": "1", "hard": "10", "soft": "22", "rejected": "25"}


def _details(event: SimulatedEvent) -> dict[str, Any]:
    """What SparkPost adds for the kind: the SMTP failure, the complaint, or the open or click."""
    if event.type in ("deferred", "bounced", "rejected"):
        reply = smtp_reply(event)
        code = reply[:3] if reply[:3].isdigit() else "554"
        kind = ("soft" if event.soft else "hard") if event.type == "bounced" else event.type
        reasons = {"reason": reply, "raw_reason": reply, "error_code": code}
        return {**reasons, "bounce_class": BOUNCE_CLASSES[kind], "num_retries": "0"}
    if event.type == "delivered":
        return {"num_retries": "0", "queue_time": "1204", "outbound_tls": "1"}
    if event.type == "complained":
        return {"fbtype": "abuse", "report_by": "fbl.example.net"}
    if event.interaction:
        found = {"ip_address": event.interaction.ip, "user_agent": event.interaction.user_agent}
        return (
            {**found, "target_link_url": event.interaction.url} if event.interaction.url else found
        )
    return {}


class SparkPostFormat(JSONFormat):
    slug = "sparkpost"

    def event(self, event: SimulatedEvent) -> dict[str, Any]:
        body = {
            "type": EVENT_TYPES[event.type],
            "event_id": str(10**16 + secrets.randbelow(9 * 10**16)),
            "transmission_id": str(int(event.message_id[:13], 16)),
            "message_id": event.message_id[:20],
            "timestamp": str(event.timestamp),
            "injection_time": iso_time(event.sent_at),
            "rcpt_to": event.recipient.lower(),
            "raw_rcpt_to": event.recipient,
            "rcpt_meta": dict(event.metadata),
            "rcpt_tags": list(event.tags),
            "campaign_id": event.tags[0] if event.tags else "",
            "customer_id": "1",
            "friendly_from": event.sender,
            "subject": event.subject,
            "ip_pool": "default",
            "routing_domain": event.recipient.partition("@")[2],
            **_details(event),
        }
        return {"msys": {EVENT_CLASSES.get(event.type, "message_event"): body}}
