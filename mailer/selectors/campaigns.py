"""Reads of campaigns: the filtered list, and a campaign's send progress."""

from django.db.models import Q, QuerySet

from mailer.models import Campaign, Subscriber
from mailer.selectors.audience import campaign_recipients
from mailer.selectors.messages import UNFINISHED, message_status_counts


def campaign_list(*, filters: dict) -> QuerySet[Campaign]:
    """Campaigns, newest first; filters: status (list), search (name or subject contains)."""
    campaigns = Campaign.objects.prefetch_related("lists", "segments")
    if filters.get("status"):
        campaigns = campaigns.filter(status__in=filters["status"])
    if filters.get("search"):
        term = filters["search"]
        campaigns = campaigns.filter(Q(name__icontains=term) | Q(subject__icontains=term))
    return campaigns


# The furthest states of a message that got at least as far as each funnel step.
FUNNEL_REACHED = {
    "sent": ("sent", "deferred", "delivered", "opened", "clicked", "bounced", "complained"),
    "delivered": ("delivered", "opened", "clicked", "complained"),
    "opened": ("opened", "clicked"),
    "clicked": ("clicked",),
}


def campaign_funnel(counts: dict[str, int]) -> dict[str, int]:
    """Unique messages that reached each step (a message opened twice counts once)."""
    return {
        step: sum(counts.get(state, 0) for state in states)
        for step, states in FUNNEL_REACHED.items()
    }


def campaign_progress(*, campaign: Campaign) -> dict:
    """Messages by status, how many are done (neither queued nor being sent), the total, and
    the funnel of unique messages."""
    counts = message_status_counts(campaign_id=campaign.pk)
    remaining = sum(counts.get(status, 0) for status in UNFINISHED)
    return {
        "total": campaign.total_recipients,
        "done": sum(counts.values()) - remaining,
        "counts": counts,
        "funnel": campaign_funnel(counts),
    }


def campaign_preview_subscribers(*, campaign: Campaign, limit: int = 50) -> QuerySet[Subscriber]:
    """Some of the campaign's recipients to preview with (the first of them by id)."""
    return campaign_recipients(campaign).order_by("pk")[:limit]
