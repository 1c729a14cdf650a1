"""Who mail goes to: subscribers, lists, saved segments, and who it must never go to."""

from django.db import models
from django.db.models.functions import Lower


class Subscriber(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        UNSUBSCRIBED = "unsubscribed"
        BOUNCED = "bounced"
        COMPLAINED = "complained"

    # Unique regardless of case (see Meta); stored as entered, trimmed.
    email = models.EmailField(max_length=320)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    is_active = models.BooleanField(default=True)
    lists = models.ManyToManyField(
        "MailingList", through="ListMembership", related_name="subscribers", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="subscriber_unique_email"),
        ]
        indexes = [models.Index(fields=["status", "is_active"], name="subscriber_status_idx")]

    def __str__(self) -> str:
        return self.email


class MailingList(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ListMembership(models.Model):
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE)
    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailing_list", "subscriber"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.subscriber_id} in {self.mailing_list_id}"


class Segment(models.Model):
    """Saved rules over the audience, evaluated when used (see mailer.selectors.segments).

    rules: {"lists": [list ids], "status": ["active", ...], "attributes": {"plan": "pro"},
            "opened_within_days": 30, "clicked_within_days": 30}; all given rules must hold.
    """

    name = models.CharField(max_length=200, unique=True)
    rules = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Suppression(models.Model):
    """An address that is never sent to, and why."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce"
        COMPLAINT = "complaint"
        UNSUBSCRIBE = "unsubscribe"
        MANUAL = "manual"

    email = models.EmailField(max_length=320)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    # No database constraint: the events table is partitioned (its key is id with the month)
    # and retention drops old months, while a suppression outlives the event that made it.
    event = models.ForeignKey(
        "events.EmailEvent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="suppression_unique_email"),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"
