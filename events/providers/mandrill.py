"""Mandrill: form posts of `mandrill_events`, signed with HMAC-SHA1 over the URL and params."""

import json

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.webhooks.mandrill import MandrillCombinedWebhookView
from django.conf import settings

from events.providers.base import ProviderAdapter, WebhookRefused

# Longer than any spelling of an empty JSON list Mandrill's check could send.
_CHECK_MAX_CHARS = 64


class Adapter(ProviderAdapter):
    slug = "mandrill"
    view_class = MandrillCombinedWebhookView
    secret_setting = "MANDRILL_WEBHOOK_KEY"
    secret_argument = "webhook_key"
    content_types = ("application/x-www-form-urlencoded", "multipart/form-data")

    @classmethod
    def detect(cls, request, payload) -> bool:
        return payload is None and "mandrill_events" in request.POST

    def run_validators(self, request, secret) -> None:
        """Mandrill signs the URL it posts to: the one this request reached, or behind a
        proxy any of MANDRILL_WEBHOOK_URL's values."""
        urls = settings.MANDRILL_WEBHOOK_URL or [None]
        failure = None
        for url in urls:
            try:
                self.view(secret, webhook_url=url).run_validators(request)
                return
            except AnymailWebhookValidationFailure as error:
                failure = error
        raise failure

    def is_check_request(self, request) -> bool:
        if "mandrill_events" not in request.POST:
            raise WebhookRefused(400, "malformed", "The form field mandrill_events is missing.")
        # Mandrill's check posts an empty list; a batch is not parsed here, only in parse().
        events = request.POST["mandrill_events"].strip()
        if len(events) > _CHECK_MAX_CHARS:
            return False
        try:
            return json.loads(events) == []
        except ValueError:
            return False

    def normalize(self, event):
        # Mailchimp Transactional's newer "delivered" event predates anymail's map.
        if (
            event.event_type == "unknown"
            and self.provider_event_name(event.esp_event) == "delivered"
        ):
            event.event_type = "delivered"
        return super().normalize(event)

    def provider_event_name(self, raw) -> str:
        return str(raw.get("event") or raw.get("type") or "") if isinstance(raw, dict) else ""
