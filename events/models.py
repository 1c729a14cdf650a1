"""EmailEvent: one normalized delivery event, the record of truth for everything live."""

from django.db import models
from django.db.models import F
from django.db.models.functions import Lower


class EventType(models.TextChoices):
    """django-anymail's normalized vocabulary."""

    QUEUED = "queued"
    SENT = "sent"
    REJECTED = "rejected"
    FAILED = "failed"
    BOUNCED = "bounced"
    DEFERRED = "deferred"
    DELIVERED = "delivered"
    AUTORESPONDED = "autoresponded"
    OPENED = "opened"
    CLICKED = "clicked"
    COMPLAINED = "complained"
    UNSUBSCRIBED = "unsubscribed"
    SUBSCRIBED = "subscribed"
    UNKNOWN = "unknown"


class Provider(models.TextChoices):
    """The slugs used in URLs, rows, API output and filters."""

    MANDRILL = "mandrill"
    MAILGUN = "mailgun"
    SENDGRID = "sendgrid"
    SPARKPOST = "sparkpost"
    AMAZON_SES = "amazon_ses"
    POSTMARK = "postmark"
    BREVO = "brevo"
    MAILJET = "mailjet"
    RESEND = "resend"
    SANDBOX = "sandbox"
    # Sent through Django's SMTP backend; events Mailpulse records itself (e.g. unsubscribes).
    SMTP = "smtp"
    MAILPULSE = "mailpulse"


class EmailEvent(models.Model):
    provider = models.CharField(max_length=20, choices=Provider.choices)
    type = models.CharField(max_length=16, choices=EventType.choices)
    provider_event = models.CharField(max_length=64, blank=True)
    recipient = models.CharField(max_length=320, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    provider_event_id = models.CharField(max_length=255, blank=True)
    # Unique per provider: the provider's event id with the recipient, or a content hash.
    dedupe_key = models.CharField(max_length=64)
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField()
    campaign = models.ForeignKey(
        "mailer.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    mta_response = models.TextField(blank=True)
    reject_reason = models.CharField(max_length=32, blank=True)
    url = models.TextField(blank=True)
    user_agent = models.TextField(blank=True)
    raw = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "dedupe_key"], name="event_unique_dedupe")
        ]
        indexes = [
            models.Index(fields=["-timestamp", "-id"], name="event_time_idx"),
            models.Index(Lower("recipient"), F("timestamp").desc(), name="event_recipient_idx"),
            models.Index(fields=["message_id", "timestamp"], name="event_message_idx"),
            models.Index(fields=["type", "-timestamp"], name="event_type_idx"),
            models.Index(fields=["provider", "-timestamp"], name="event_provider_idx"),
            models.Index(fields=["campaign", "-timestamp"], name="event_campaign_idx"),
            models.Index(fields=["received_at"], name="event_received_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.recipient}"


class WebhookNonce(models.Model):
    """A signature token already accepted: Mailgun's signature does not cover the body,
    so a token may be used once, for one body, within the replay window."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    token = models.CharField(max_length=255)
    body_hash = models.CharField(max_length=64)
    seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "token"], name="nonce_unique_token")
        ]

    def __str__(self) -> str:
        return f"{self.provider} token {self.token[:8]}…"
