"""SendGrid (Twilio): a JSON array of events, signed with ECDSA P-256 over the timestamp
header and the raw body (the Signed Event Webhook)."""

from typing import Any

from anymail.webhooks.sendgrid import SendGridTrackingWebhookView

from events.providers.base import ProviderAdapter, check_signature_age

TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


def _is_sendgrid_event(item: Any) -> bool:
    return isinstance(item, dict) and any(
        isinstance(item.get(key), str) for key in ("sg_event_id", "sg_message_id")
    )


class Adapter(ProviderAdapter):
    slug = "sendgrid"
    view_class = SendGridTrackingWebhookView
    secret_setting = "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY"
    secret_argument = "tracking_webhook_verification_key"

    @classmethod
    def detect(cls, request, payload) -> bool:
        return isinstance(payload, list) and bool(payload) and all(map(_is_sendgrid_event, payload))

    def run_validators(self, request, secret) -> None:
        view = self.view(secret)  # outside the try: a bad configured key is an error, not a refusal
        try:
            view.run_validators(request)
        except ValueError:
            # A signature header that is not ASCII: anymail only expects binascii.Error.
            raise self.refusal("The SendGrid webhook signature is not base64.") from None

    def check_replay(self, request) -> None:
        # Present: anymail's validator refuses a request without it.
        check_signature_age(request.headers[TIMESTAMP_HEADER])

    def normalize(self, event):
        # anymail takes the message id from smtp-id; SendGrid's own id is sg_message_id.
        event.message_id = event.esp_event.get("sg_message_id")
        return super().normalize(event)
