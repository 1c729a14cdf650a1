"""EmailEvent: one normalized delivery event, the record of truth for everything live.

The events table is partitioned by month of `timestamp` in PostgreSQL (events/partitions.py,
migration 0003); its primary key there is (id, timestamp), as a partitioned table requires,
while Django keeps `id` as the pk (an identity column, so unique on its own). Dedupe is
global through EventKey, a small unpartitioned table with one row per stored event."""

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
    # No index of its own: event_campaign_idx starts with campaign_id.
    campaign = models.ForeignKey(
        "mailer.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        db_index=False,
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
        # One per filter of /api/events/ and the dashboard, each ending in the list's order
        # (-timestamp, -id) so a filtered first page is one index range per partition.
        # event_time_idx covers event_stats (timestamp, type, id): an index-only scan.
        indexes = [
            models.Index(fields=["-timestamp", "-id"], include=["type"], name="event_time_idx"),
            models.Index(
                Lower("recipient"),
                F("timestamp").desc(),
                F("id").desc(),
                name="event_recipient_idx",
            ),
            models.Index(fields=["message_id", "timestamp", "id"], name="event_message_idx"),
            models.Index(fields=["type", "-timestamp", "-id"], name="event_type_idx"),
            models.Index(fields=["provider", "-timestamp", "-id"], name="event_provider_idx"),
            models.Index(fields=["campaign", "-timestamp", "-id"], name="event_campaign_idx"),
            models.Index(fields=["received_at", "id"], name="event_received_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.recipient}"


class EventKey(models.Model):
    """The dedupe identity of one stored event: unique over all partitions and months, which
    a unique index on the partitioned events table cannot be (it would have to include the
    month). events_ingest inserts the keys first and stores only the events whose key was new.
    `timestamp` and `received_at` copy the event's, so a key is pruned only once its event is
    gone (events/retention.py)."""

    pk = models.CompositePrimaryKey("provider", "dedupe_key")
    provider = models.CharField(max_length=20, choices=Provider.choices)
    dedupe_key = models.CharField(max_length=64)
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["timestamp"], name="eventkey_time_idx")]

    def __str__(self) -> str:
        return f"{self.provider} {self.dedupe_key}"


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
        # Pruned by age once no replay window can reach them (events/retention.py).
        indexes = [models.Index(fields=["seen_at"], name="nonce_seen_idx")]

    def __str__(self) -> str:
        return f"{self.provider} token {self.token[:8]}…"
