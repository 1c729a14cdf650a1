"""Message: one campaign's email to one subscriber, and the furthest state it reached."""

import uuid

from django.db import models

# How far a message got; events never move it back (out-of-order webhooks are normal).
STATUS_RANK = {
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "deferred": 2,
    "delivered": 3,
    "opened": 4,
    "clicked": 5,
    "failed": 6,
    "rejected": 6,
    "bounced": 6,
    "complained": 7,
}


class Message(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        DEFERRED = "deferred"
        DELIVERED = "delivered"
        OPENED = "opened"
        CLICKED = "clicked"
        FAILED = "failed"
        REJECTED = "rejected"
        BOUNCED = "bounced"
        COMPLAINED = "complained"
        CANCELLED = "cancelled"

    campaign = models.ForeignKey("Campaign", on_delete=models.CASCADE, related_name="messages")
    subscriber = models.ForeignKey(
        "Subscriber", null=True, on_delete=models.SET_NULL, related_name="messages"
    )
    # The address frozen when sending started.
    email = models.EmailField(max_length=320)
    # Our id: in the Message-ID header and the provider metadata, to match events back.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    provider = models.CharField(max_length=20, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "subscriber"], name="message_once")
        ]
        indexes = [
            models.Index(fields=["campaign", "status"], name="message_campaign_status_idx"),
            models.Index(fields=["provider_message_id"], name="message_provider_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} → {self.email} ({self.status})"
