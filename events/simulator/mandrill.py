"""Mandrill (Mailchimp Transactional): a form post of `mandrill_events`, a JSON list, signed
with X-Mandrill-Signature = base64(HMAC-SHA1(key, url + each sorted param name and value))."""

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from events.providers.base import secret_list
from events.simulator.base import Interaction, ProviderFormat, SimulatedEvent, WebhookPost

EVENT_NAMES = {
    "sent": "send",
    "delivered": "delivered",
    "deferred": "deferral",
    "opened": "open",
    "clicked": "click",
    "complained": "spam",
    "unsubscribed": "unsub",
    "rejected": "reject",
}
MESSAGE_STATES = {"bounced": "bounced", "rejected": "rejected", "deferred": "deferred"}


def signature(key: str, url: str, params: dict[str, str]) -> str:
    signed = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(key.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _interaction(item: Interaction) -> dict[str, Any]:
    entry = {"ts": item.ts, "ip": item.ip, "location": None, "ua": item.user_agent}
    if item.url:
        entry["url"] = item.url
    return entry


def _message(event: SimulatedEvent) -> dict[str, Any]:
    msg = {
        "_id": event.message_id,
        "_version": f"{event.message_id[:12]}{len(event.opens) + len(event.clicks)}",
        "ts": event.sent_at,
        "email": event.recipient,
        "sender": event.sender,
        "subject": event.subject,
        "state": MESSAGE_STATES.get(event.type, "sent"),
        "tags": list(event.tags),
        "metadata": dict(event.metadata),
        "opens": [_interaction(o) for o in event.opens],
        "clicks": [_interaction(c) for c in event.clicks],
        "smtp_events": [],
        "resends": [],
        "template": None,
    }
    if event.diagnostic:
        msg["diag"] = event.diagnostic
    if event.type == "bounced":
        msg["bounce_description"] = "mailbox_full" if event.soft else "bad_mailbox"
    if event.type == "deferred":
        msg["smtp_events"] = [
            {"ts": event.timestamp, "type": "deferred", "diag": event.diagnostic, "size": 18423}
        ]
    return msg


def _event_name(event: SimulatedEvent) -> str:
    if event.type == "bounced":
        return "soft_bounce" if event.soft else "hard_bounce"
    return EVENT_NAMES[event.type]


class MandrillFormat(ProviderFormat):
    slug = "mandrill"

    def event(self, event: SimulatedEvent) -> dict[str, Any]:
        body: dict[str, Any] = {
            "event": _event_name(event),
            "_id": event.message_id,
            "ts": event.timestamp,
            "msg": _message(event),
        }
        if event.interaction:
            body["ip"] = event.interaction.ip
            body["user_agent"] = event.interaction.user_agent
            body["location"] = None
            if event.interaction.url:
                body["url"] = event.interaction.url
        return body

    def post(self, url: str, batch: list[dict[str, Any]]) -> WebhookPost:
        params = {"mandrill_events": json.dumps(batch)}
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if keys := secret_list(settings.MANDRILL_WEBHOOK_KEY):
            headers["X-Mandrill-Signature"] = signature(keys[0], url, params)
        return WebhookPost(body=urlencode(params).encode(), headers=headers)
