"""Amazon SES: events published to an SNS topic, which posts them here as SNS messages.

Authenticated by HTTP basic auth from WEBHOOK_SECRET (when set) and, always, by the SNS
message signature, which anymail does not check (see events.sns). Subscription confirmations
are answered here, by a GET of their SubscribeURL, instead of anymail's boto3 call.
"""

import logging

from anymail.signals import EventType
from anymail.webhooks.amazon_ses import AmazonSESBaseWebhookView, AmazonSESTrackingWebhookView
from anymail.webhooks.base import AnymailBasicAuthMixin
from django.conf import settings

from events import sns
from events.providers.base import ProviderAdapter, WebhookRefused, malformed

logger = logging.getLogger(__name__)


class TrackingView(AmazonSESTrackingWebhookView):
    """anymail's SES event parsing, plus the event types anymail 15 does not know."""

    # The SNS signature is always verified, and `manage.py check` (events.W001) already says
    # when WEBHOOK_SECRET is missing: no warning on every request.
    warn_if_no_basic_auth = False

    def __init__(self, **kwargs):
        # Skips AmazonSESBaseWebhookView.__init__, which needs boto3 (not installed) only to
        # confirm subscriptions through the SNS API; the adapter confirms them itself.
        self.auto_confirm_enabled = False
        super(AmazonSESBaseWebhookView, self).__init__(**kwargs)

    def esp_to_anymail_events(self, ses_event, sns_message):
        kind = ses_event.get("eventType")
        if kind == "DeliveryDelay":
            return self._delivery_delays(ses_event, sns_message)
        events = super().esp_to_anymail_events(ses_event, sns_message)
        if kind == "Subscription":
            preferences = ses_event["subscription"].get("newTopicPreferences") or {}
            opted_out = preferences.get("unsubscribeAll") or any(
                topic.get("subscriptionStatus") == "OptOut"
                for topic in preferences.get("topicSubscriptionStatus") or []
            )
            for event in events:
                event.event_type = EventType.UNSUBSCRIBED if opted_out else EventType.SUBSCRIBED
                event.description = ses_event["subscription"].get("source")
        return events

    def _delivery_delays(self, ses_event, sns_message):
        """One deferred event per delayed recipient (not per destination), with its SMTP reply."""
        delay = ses_event["deliveryDelay"]
        delayed = delay["delayedRecipients"]
        mail = {**ses_event.get("mail", {}), "destination": [r["emailAddress"] for r in delayed]}
        events = super().esp_to_anymail_events({**ses_event, "mail": mail}, sns_message)
        for event, recipient in zip(events, delayed, strict=True):
            event.event_type = EventType.DEFERRED
            event.esp_event = ses_event
            event.description = delay.get("delayType")
            event.mta_response = recipient.get("diagnosticCode")
        return events


class Adapter(ProviderAdapter):
    slug = "amazon_ses"
    view_class = TrackingView
    # SNS posts text/plain unless the subscription's delivery policy says otherwise.
    content_types = ("text/plain", "application/json")

    @classmethod
    def detect(cls, request, payload) -> bool:
        return (
            request.headers.get("x-amz-sns-message-type") in sns.MESSAGE_TYPES
            and "x-amz-sns-topic-arn" in request.headers
        )

    # --- verifying

    def verify(self, request) -> None:
        """Basic auth first (when configured), so that strangers cannot make us fetch
        certificates; then the SNS message, its topic and its signature."""
        super().verify(request)
        message = self.sns_message(request)
        for header, field in (("type", "Type"), ("id", "MessageId")):
            sent = request.headers.get(f"x-amz-sns-message-{header}")
            if sent != message.get(field):
                raise malformed(
                    f"The x-amz-sns-message-{header} header ({sent!r}) does not match the "
                    f"message's {field} ({message.get(field)!r})."
                )
        topics = [arn.strip() for arn in settings.AMAZON_SES_TOPIC_ARNS if arn.strip()]
        if topics and message["TopicArn"] not in topics:
            raise WebhookRefused(
                403,
                "unexpected_topic",
                f"The SNS topic {message['TopicArn']!r} is not in AMAZON_SES_TOPIC_ARNS.",
            )
        try:
            sns.verify_signature(message, settings.AMAZON_SES_SNS_CERT_HOSTS)
        except sns.NotAuthentic as error:
            raise WebhookRefused(403, "bad_signature", str(error)) from None
        except sns.FetchError as error:
            raise unavailable(f"The SNS signing certificate is unavailable: {error}") from None

    def run_validators(self, request, secret) -> None:
        """Basic auth only: anymail's SES validator compares the SNS headers with a body it
        parses without checks (a 500 on a malformed body); `verify` does that itself."""
        AnymailBasicAuthMixin.validate_request(self.view(), request)

    @staticmethod
    def sns_message(request) -> dict:
        """The request's SNS message, parsed once."""
        if not hasattr(request, "sns_message"):
            try:
                request.sns_message = sns.parse_message(request.body)
            except sns.MalformedMessage as error:
                raise malformed(str(error)) from None
        return request.sns_message

    # --- parsing

    def parse(self, request):
        message = self.sns_message(request)
        if message["Type"] == "Notification":
            return super().parse(request)
        return [], [self.confirmation(message)]

    def confirmation(self, message: dict) -> dict:
        """What became of a (verified) Subscription- or UnsubscribeConfirmation, for the
        response: neither holds events."""
        kind = message["Type"]
        outcome = {"index": 0, "sns_type": kind, "topic_arn": message["TopicArn"]}
        if kind == "UnsubscribeConfirmation":
            return {**outcome, "reason": "an SNS UnsubscribeConfirmation holds no events"}
        if not settings.AMAZON_SES_AUTO_CONFIRM:
            return {
                **outcome,
                "confirmed": False,
                "reason": "not confirmed: AMAZON_SES_AUTO_CONFIRM is off; confirm the "
                "subscription in the SNS console or by visiting its SubscribeURL",
            }
        try:
            sns.confirm_subscription(message, settings.AMAZON_SES_SNS_CERT_HOSTS)
        except (sns.FetchError, sns.NotAuthentic) as error:
            if getattr(error, "transient", False):
                raise unavailable(f"The SNS subscription could not be confirmed: {error}") from None
            return {**outcome, "confirmed": False, "reason": f"not confirmed: {error}"}
        logger.info("SNS subscription confirmed", extra={"topic_arn": message["TopicArn"]})
        return {**outcome, "confirmed": True, "reason": "subscription confirmed"}

    def provider_event_name(self, raw) -> str:
        if not isinstance(raw, dict):
            return ""
        return str(raw.get("eventType") or raw.get("notificationType") or "")


def unavailable(detail: str) -> WebhookRefused:
    """A fetch from SNS failed on the way: SNS retries a 5xx (not a 4xx), so ask it to."""
    return WebhookRefused(503, "sns_unavailable", detail, headers={"Retry-After": "30"})
