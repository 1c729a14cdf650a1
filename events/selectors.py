"""Reads of events: history from PostgreSQL, the live view from Redis."""

from datetime import UTC, datetime, timedelta

from django.db.models import Count, QuerySet, Value
from django.db.models.functions import Lower, TruncMinute
from django.utils import timezone

from events import live_store
from events.models import EmailEvent
from events.serializers import serialize_event

RESUME_OVERLAP_MS = 2000
RESUME_MAX_EVENTS = 5000


def event_list(*, filters: dict) -> QuerySet[EmailEvent]:
    """Events matching validated filters (see EventFilterSerializer), newest first."""
    events = EmailEvent.objects.all()
    if filters.get("type"):
        events = events.filter(type__in=filters["type"])
    if filters.get("provider"):
        events = events.filter(provider__in=filters["provider"])
    if filters.get("recipient"):
        # lower() = lower() rather than iexact's UPPER(): it uses event_recipient_idx.
        events = events.alias(recipient_lower=Lower("recipient")).filter(
            recipient_lower=Lower(Value(filters["recipient"]))
        )
    if filters.get("campaign"):
        events = events.filter(campaign_id=filters["campaign"])
    if filters.get("message_id"):
        events = events.filter(message_id=filters["message_id"].strip("<>"))
    if filters.get("since"):
        events = events.filter(timestamp__gte=filters["since"])
    if filters.get("until"):
        events = events.filter(timestamp__lt=filters["until"])
    return events.order_by("-timestamp", "-id")


def message_timeline(*, message_id: str) -> QuerySet[EmailEvent]:
    """Every event of one provider message, oldest first."""
    return EmailEvent.objects.filter(message_id=message_id.strip("<>")).order_by("timestamp", "id")


def event_stats(*, since: datetime | None = None, until: datetime | None = None) -> dict:
    """Totals by type and per-minute counts by type over [since, until); default: last hour."""
    until = until or timezone.now()
    since = since or until - timedelta(minutes=60)
    rows = (
        EmailEvent.objects.filter(timestamp__gte=since, timestamp__lt=until)
        .annotate(minute=TruncMinute("timestamp"))
        .values("minute", "type")
        .annotate(n=Count("id"))
        .order_by("minute")
    )
    totals: dict[str, int] = {}
    per_minute: dict[datetime, dict[str, int]] = {}
    for row in rows:
        totals[row["type"]] = totals.get(row["type"], 0) + row["n"]
        per_minute.setdefault(row["minute"], {})[row["type"]] = row["n"]
    return {
        "since": since,
        "until": until,
        "totals": totals,
        "per_minute": [{"minute": m, "counts": c} for m, c in per_minute.items()],
    }


def live_snapshot(*, limit: int, campaign_id: int | None = None) -> dict:
    return live_store.snapshot(limit, campaign_id)


def events_since_cursor(*, cursor: str) -> tuple[list[dict], str]:
    """What a client that saw everything up to `cursor` has missed, oldest first.

    From the Redis stream while it still reaches back that far; otherwise from PostgreSQL,
    by arrival time with an overlap (clients drop ids they already hold)."""
    start = f"{max(live_store.cursor_time_ms(cursor) - RESUME_OVERLAP_MS, 0)}-0"
    events, new_cursor, complete = live_store.events_after(start, RESUME_MAX_EVENTS)
    if complete:
        return events, new_cursor
    since = datetime.fromtimestamp(live_store.cursor_time_ms(start) / 1000, tz=UTC)
    rows = EmailEvent.objects.filter(received_at__gte=since).order_by("received_at", "id")
    return [serialize_event(e) for e in rows[:RESUME_MAX_EVENTS]], live_store.latest_cursor()
