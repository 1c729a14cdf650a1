"""Brevo (ex-Sendinblue): one JSON object per transactional email event, authenticated by
basic auth from WEBHOOK_SECRET. Brevo sends no event id (its `id` names the webhook), and
our metadata travels as the X-Mailin-custom header, a JSON string."""

import json
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from events.simulator.base import JSONFormat, SimulatedEvent

WEBHOOK_ID = 1208514
SENDING_IP = "198.51.100.42"
# `date` is in Brevo's own time zone (CET/CEST); ts_event and ts_epoch are UTC.
BREVO_TIME_ZONE = ZoneInfo("Europe/Paris")
EVENT_NAMES = {
    "sent": "request",
    "delivered": "delivered",
    "deferred": "deferred",
    "clicked": "click",
    "complained": "spam",
    "unsubscribed": "unsubscribe",
    "rejected": "blocked",
}


def _event_name(event: SimulatedEvent) -> str:
    if event.type == "bounced":
        return "soft_bounce" if event.soft else "hard_bounce"
    if event.type == "opened":
        return "unique_opened" if len(event.opens) == 1 else "opened"
    return EVENT_NAMES[event.type]


def _milliseconds() -> int:
    """Brevo stamps an event to the millisecond, and sends nothing else that tells two opens
    (or clicks) of a message apart; simulated events are stamped to the second, so these are
    the clock's milliseconds now, lest two such events within a second be one duplicate."""
    return int(time.time() * 1000) % 1000


def _message_id(event: SimulatedEvent) -> str:
    sent = time.strftime("%Y%m%d%H%M", time.gmtime(event.sent_at))
    return f"<{sent}.{int(event.message_id[:11], 16)}@smtp-relay.mailin.fr>"


class BrevoFormat(JSONFormat):
    slug = "brevo"
    one_event_per_post = True

    def event(self, event: SimulatedEvent) -> dict[str, Any]:
        body: dict[str, Any] = {
            "event": _event_name(event),
            "email": event.recipient,
            "id": WEBHOOK_ID,
            "date": f"{datetime.fromtimestamp(event.timestamp, BREVO_TIME_ZONE):%Y-%m-%d %H:%M:%S}",
            "ts": event.timestamp,
            "message-id": _message_id(event),
            "ts_event": event.timestamp,
            "subject": event.subject,
            "sending_ip": SENDING_IP,
            "ts_epoch": event.timestamp * 1000 + _milliseconds(),
            "tags": list(event.tags),
        }
        if event.metadata:
            body["X-Mailin-custom"] = json.dumps(event.metadata)
        if event.diagnostic:
            body["reason"] = event.diagnostic
        if event.interaction and event.interaction.url:
            body["link"] = event.interaction.url
        return body
