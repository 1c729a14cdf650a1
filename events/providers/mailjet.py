"""Mailjet's Event API: one JSON event per post, or with grouping (Event API version 2) an
array of them, authenticated by HTTP basic auth from WEBHOOK_SECRET.

Mailjet sends no event id: MessageID and Message_GUID name the message, which all its events
share, so provider_event_id stays empty and the content hash dedupes; a retry repeats the
same body.
"""

from typing import Any

from anymail.signals import AnymailTrackingEvent
from anymail.webhooks.mailjet import MailjetTrackingWebhookView
from django.http import HttpRequest

from events.normalized import NormalizedEvent
from events.providers.base import ProviderAdapter


def _is_event(item: Any) -> bool:
    """Mailjet's documented common fields: `event`, `time`, `email` and a message id, the
    number `MessageID` or, in grouped posts, only the string `mj_message_id`."""
    return (
        isinstance(item, dict)
        and isinstance(item.get("event"), str)
        and isinstance(item.get("email"), str)
        and type(item.get("time")) is int
        and (type(item.get("MessageID")) is int or isinstance(item.get("mj_message_id"), str))
    )


class Adapter(ProviderAdapter):
    slug = "mailjet"
    view_class = MailjetTrackingWebhookView

    @classmethod
    def detect(cls, request: HttpRequest, payload: Any) -> bool:
        events = payload if isinstance(payload, list) else [payload]
        return bool(events) and all(map(_is_event, events))

    def normalize(self, event: AnymailTrackingEvent) -> NormalizedEvent:
        """Fill what anymail leaves out: the message id of grouped events (`mj_message_id`),
        a bounce's raw SMTP error (`comment`) and Mailjet's error name (`error`)."""
        raw = event.esp_event
        event.message_id = event.message_id or raw.get("mj_message_id")
        event.mta_response = event.mta_response or raw.get("comment")
        event.description = raw.get("error")
        return super().normalize(event)
