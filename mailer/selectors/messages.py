"""Reads of campaign messages: lists for the API and counts by status for progress."""

from django.db.models import Count, QuerySet

from mailer.models import Message

# Statuses of a message its campaign is still working on.
UNFINISHED = (Message.Status.QUEUED, Message.Status.SENDING)


def message_status_counts(*, campaign_id: int) -> dict[str, int]:
    """How many of the campaign's messages are in each status (absent statuses omitted)."""
    rows = (
        Message.objects.filter(campaign_id=campaign_id)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return dict(rows)


def message_list(*, filters: dict) -> QuerySet[Message]:
    """Messages, newest first; filters: campaign (id), status (list), email (any case)."""
    messages = Message.objects.all()
    if filters.get("campaign"):
        messages = messages.filter(campaign_id=filters["campaign"])
    if filters.get("status"):
        messages = messages.filter(status__in=filters["status"])
    if filters.get("email"):
        messages = messages.filter(email__iexact=filters["email"])
    return messages.order_by("-id")
