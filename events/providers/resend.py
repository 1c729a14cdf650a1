"""Resend: one JSON event per post, delivered through Svix.

Mailpulse authenticates Resend by HTTP basic auth from WEBHOOK_SECRET, not by Svix signature:
the view is always built without a signing secret (see `view_kwargs`).

The `svix-id` header names the event and is the same on every retry of it, so it is the
provider_event_id (anymail's event_id); a post without it is deduped by content.
"""

from typing import Any

from anymail.signals import AnymailEvent, AnymailInboundEvent, EventType, RejectReason
from anymail.webhooks.resend import ResendTrackingWebhookView
from django.http import HttpRequest

from events.providers.base import ProviderAdapter

# Where Resend explains the event types anymail does not describe: (detail object, field).
_DESCRIPTIONS = {
    "email.failed": ("failed", "reason"),
    "email.suppressed": ("suppressed", "message"),
}


def _detail(data: Any, name: str) -> dict:
    detail = data.get(name) if isinstance(data, dict) else None
    return detail if isinstance(detail, dict) else {}


class TrackingView(ResendTrackingWebhookView):
    """anymail's view, knowing the event types Resend added since (scheduled, failed,
    suppressed), a bounce's SMTP diagnostics, and that `email.received` is inbound mail."""

    event_types = {
        **ResendTrackingWebhookView.event_types,
        "email.scheduled": EventType.QUEUED,
        "email.failed": EventType.FAILED,
        "email.suppressed": EventType.REJECTED,
    }

    def esp_to_anymail_event(self, esp_event: dict, request: HttpRequest) -> AnymailEvent:
        esp_type = esp_event.get("type")
        if esp_type == "email.received":
            return AnymailInboundEvent(event_type=EventType.INBOUND, esp_event=esp_event)
        event = super().esp_to_anymail_event(esp_event, request)
        data = esp_event.get("data")
        if esp_type in _DESCRIPTIONS:
            name, field = _DESCRIPTIONS[esp_type]
            event.description = _detail(data, name).get(field)
        if esp_type == "email.suppressed":
            event.reject_reason = RejectReason.BLOCKED
        diagnostics = _detail(data, "bounce").get("diagnosticCode")
        if isinstance(diagnostics, list):
            event.mta_response = "\n".join(map(str, diagnostics))
        return event


class Adapter(ProviderAdapter):
    slug = "resend"
    view_class = TrackingView

    @classmethod
    def detect(cls, request: HttpRequest, payload: Any) -> bool:
        """Resend's envelope: an `email.*` type, `created_at` and a `data` object naming the
        email. The body alone is distinctive, so the Svix headers are not required."""
        if not isinstance(payload, dict):
            return False
        event_type, data = payload.get("type"), payload.get("data")
        return (
            isinstance(event_type, str)
            and event_type.startswith("email.")
            and isinstance(payload.get("created_at"), str)
            and isinstance(data, dict)
            and isinstance(data.get("email_id"), str)
        )

    def view_kwargs(self, secret: str | None = None) -> dict[str, Any]:
        """Without a signing secret anymail validates basic auth only. Pinning it to None keeps
        an ANYMAIL RESEND_SIGNING_SECRET setting from switching on Svix verification, which
        needs the `svix` package (not installed: the view would not even construct)."""
        return {**super().view_kwargs(secret), "signing_secret": None}

    def provider_event_name(self, raw: Any) -> str:
        return str(raw.get("type", "")) if isinstance(raw, dict) else ""
