"""A CSV import of subscribers, run in the background; its content is kept in the database so
any worker on any machine can process it."""

from django.conf import settings
from django.db import models


class SubscriberImport(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    original_name = models.CharField(max_length=255)
    content = models.BinaryField()
    # {"email": "E-mail", "first_name": "First", "last_name": null, ...}: our field ->
    # the CSV column; other columns go into attributes.
    mapping = models.JSONField(default=dict, blank=True)
    mailing_list = models.ForeignKey(
        "MailingList", null=True, blank=True, on_delete=models.SET_NULL, related_name="imports"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # [{"line": 7, "reason": "not an email address: 'bob@'"}, ...]
    errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.original_name})"
