"""SendGrid (Twilio): a JSON array of events, custom args (our metadata) at their top level.

SendGrid signs with a private key only it holds, so the simulator posts unsigned, which the
server accepts only while SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY is unset."""

import re
import secrets
from typing import Any, Self

from django.conf import settings

from events.simulator.base import (
    JSONFormat,
    SimulatedEvent,
    SimulationError,
    rejected_as_spam,
    smtp_reply,
)

EVENT_NAMES = {
    "sent": "processed",
    "delivered": "delivered",
    "deferred": "deferred",
    "bounced": "bounce",
    "opened": "open",
    "clicked": "click",
    "complained": "spamreport",
    "unsubscribed": "unsubscribe",
    "rejected": "dropped",
}


def smtp_status(reply: str) -> str:
    """The enhanced status code ("5.1.1") of an SMTP reply, or its class ("5.0.0")."""
    found = re.match(r"\d{3} ([245]\.\d{1,3}\.\d{1,3})\b", reply)
    return found[1] if found else f"{reply[:1]}.0.0"


def _details(event: SimulatedEvent) -> dict[str, Any]:
    """What SendGrid adds for the kind: the SMTP reply, the drop reason, or the open or click."""
    if event.type in ("delivered", "deferred"):
        attempt = {"attempt": "1"} if event.type == "deferred" else {}
        return {"response": smtp_reply(event), "tls": 1, **attempt}
    if event.type == "bounced":
        reply = smtp_reply(event)
        kind = "blocked" if event.soft else "bounce"
        return {"reason": reply, "status": smtp_status(reply), "type": kind, "tls": 1}
    if event.type == "rejected":
        return {
            "reason": "Spam Reporting Address" if rejected_as_spam(event) else "Bounced Address"
        }
    if event.interaction:
        found = {"ip": event.interaction.ip, "useragent": event.interaction.user_agent}
        if event.interaction.url:
            return {
                **found,
                "url": event.interaction.url,
                "url_offset": {"index": 0, "type": "html"},
            }
        return found
    return {}


class SendGridFormat(JSONFormat):
    slug = "sendgrid"

    def __enter__(self) -> Self:
        if settings.SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY:
            raise SimulationError(
                "SendGrid signs its webhooks with a private key only SendGrid holds, so the "
                "simulator cannot sign them, and SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY "
                "is set: the server would refuse unsigned posts. Unset it (on the server and "
                "here) to simulate SendGrid."
            )
        return self

    def event(self, event: SimulatedEvent) -> dict[str, Any]:
        x_message_id = event.message_id[:22]  # what SendGrid's send API answered
        return {
            "email": event.recipient,
            "timestamp": event.timestamp,
            "smtp-id": f"<{x_message_id}@ismtpd0001p1iad2.sendgrid.net>",
            "event": EVENT_NAMES[event.type],
            "category": list(event.tags),
            "sg_event_id": secrets.token_urlsafe(16),
            "sg_message_id": f"{x_message_id}.filterdrecv-{event.sent_at:X}-1-0.0",
            **event.metadata,
            **_details(event),
        }

    def headers(self, payload: Any) -> dict[str, str]:
        return {}  # signed, when SendGrid signs, with a key only SendGrid has
