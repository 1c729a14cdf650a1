"""Postmark: one JSON object per event, its kind in `RecordType`, authenticated by HTTP
basic auth (Postmark does not sign its webhooks)."""

from anymail.webhooks.postmark import PostmarkTrackingWebhookView

from events.providers.base import ProviderAdapter


class Adapter(ProviderAdapter):
    slug = "postmark"
    view_class = PostmarkTrackingWebhookView

    @classmethod
    def detect(cls, request, payload) -> bool:
        return isinstance(payload, dict) and isinstance(payload.get("RecordType"), str)

    def normalize(self, event):
        # anymail prefers Metadata.anymail_id (its own batch sends); Postmark's id is MessageID.
        event.message_id = event.esp_event.get("MessageID")
        return super().normalize(event)

    def provider_event_name(self, raw) -> str:
        return str(raw.get("RecordType", ""))
