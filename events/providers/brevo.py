"""Brevo (ex-Sendinblue): one JSON object per transactional email event, authenticated by
HTTP basic auth from WEBHOOK_SECRET.

Brevo sends no event id: the payload's `id` is the id of the webhook configuration, the same
for every event posted to one URL (Brevo's transactional webhook docs), so provider_event_id
stays empty and the content hash dedupes; a retry repeats the same body.
"""

from typing import Any

from anymail.webhooks.brevo import BrevoTrackingWebhookView
from django.http import HttpRequest

from events.providers.base import ProviderAdapter

_TEXT_FIELDS = ("event", "email", "message-id")
_TIME_FIELDS = ("ts_event", "ts", "ts_epoch")


class Adapter(ProviderAdapter):
    slug = "brevo"
    view_class = BrevoTrackingWebhookView

    @classmethod
    def detect(cls, request: HttpRequest, payload: Any) -> bool:
        """An object with Brevo's hyphenated `message-id` and an integer `ts_event`, `ts` or
        `ts_epoch`: no other provider names its fields so."""
        return (
            isinstance(payload, dict)
            and all(isinstance(payload.get(name), str) for name in _TEXT_FIELDS)
            and any(type(payload.get(name)) is int for name in _TIME_FIELDS)
        )
