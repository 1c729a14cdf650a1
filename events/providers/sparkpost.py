"""SparkPost: a JSON array of `{"msys": {<event class>: {...}}}` events, authenticated by
HTTP basic auth (SparkPost does not sign its webhooks)."""

from typing import Any

from anymail.webhooks.sparkpost import SparkPostTrackingWebhookView

from events.providers.base import ProviderAdapter


def _is_sparkpost_event(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("msys"), dict)


class Adapter(ProviderAdapter):
    slug = "sparkpost"
    view_class = SparkPostTrackingWebhookView

    @classmethod
    def detect(cls, request, payload) -> bool:
        return (
            isinstance(payload, list) and bool(payload) and all(map(_is_sparkpost_event, payload))
        )

    def provider_event_name(self, raw) -> str:
        # The kind is the inner event's "type"; anymail has checked there is exactly one.
        (inner,) = raw["msys"].values()
        return str(inner.get("type", ""))
