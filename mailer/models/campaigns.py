"""Campaigns: what is sent, from whom, to which lists and segments, and when."""

from django.conf import settings
from django.db import models


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        SCHEDULED = "scheduled"
        SENDING = "sending"
        PAUSED = "paused"
        SENT = "sent"
        CANCELLED = "cancelled"

    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=998, blank=True)
    preview_text = models.CharField(max_length=255, blank=True)
    article_url = models.URLField(max_length=2000, blank=True)
    html_content = models.TextField(blank=True)
    # Generated from the HTML when left empty (see mailer.rendering).
    plain_text_content = models.TextField(blank=True)
    published_date = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    from_name = models.CharField(max_length=200, blank=True)
    from_email = models.EmailField(max_length=320, blank=True)
    reply_to = models.EmailField(max_length=320, blank=True)
    lists = models.ManyToManyField("MailingList", blank=True, related_name="campaigns")
    segments = models.ManyToManyField("Segment", blank=True, related_name="campaigns")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Frozen when sending starts: the number of Message rows created.
    total_recipients = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "scheduled_at"], name="campaign_due_idx")]

    def __str__(self) -> str:
        return self.name
