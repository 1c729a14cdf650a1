"""Reads of events: history from PostgreSQL, the live view from Redis."""

from datetime import UTC, datetime, timedelta

from django.db.models import Count, QuerySet, Value
from django.db.models.functions import Lower, TruncMinute
from django.utils import timezone
from redis.exceptions import RedisError

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


# Stats over whole minutes of the last day come from the live view's exact per-minute
# counters (kept 25 h, so "the last 24 hours" asked a little late still qualifies); the
# rest from PostgreSQL.
LIVE_STATS_WINDOW = timedelta(hours=24, minutes=30)


def _minute_counts_db(*ranges: tuple[datetime, datetime]) -> dict[datetime, dict[str, int]]:
    counts: dict[datetime, dict[str, int]] = {}
    for start, end in ranges:  # one query each, so PostgreSQL skips the other months
        # Unordered, so PostgreSQL may hash-aggregate an index-only scan instead of sorting.
        rows = (
            EmailEvent.objects.filter(timestamp__gte=start, timestamp__lt=end)
            .annotate(minute=TruncMinute("timestamp"))
            .values_list("minute", "type")
            .annotate(n=Count("id"))
            .order_by()
        )
        for minute, event_type, n in rows:
            counts.setdefault(minute, {})[event_type] = n
    return counts


def _minute_counts_live(since: datetime, until: datetime) -> dict | None:
    """The live view's whole minutes inside [since, until) plus PostgreSQL's partial minutes
    at either end; None when the window is not within the last day or Redis cannot answer."""
    now = timezone.now()
    first = -(-int(since.timestamp()) // 60)  # the first whole minute (ceil)
    end = int(min(until, now).timestamp()) // 60  # later minutes: PostgreSQL (none yet)
    if since < now - LIVE_STATS_WINDOW or end - first < 1:
        return None
    try:
        live = live_store.minute_counts(first, end)
    except RedisError:
        return None
    if live is None:
        return None
    edges = [e for e in ((since, _minute_at(first)), (_minute_at(end), until)) if e[0] < e[1]]
    counts = _minute_counts_db(*edges) if edges else {}
    counts.update({_minute_at(minute): by_type for minute, by_type in live.items()})
    return counts


def _minute_at(epoch_minute: int) -> datetime:
    return datetime.fromtimestamp(epoch_minute * 60, tz=UTC)


def event_stats(*, since: datetime | None = None, until: datetime | None = None) -> dict:
    """Totals by type and per-minute counts by type over [since, until); default: last hour."""
    until = until or timezone.now()
    since = since or until - timedelta(minutes=60)
    counts = _minute_counts_live(since, until)
    source = "live" if counts is not None else "database"
    if counts is None:
        counts = _minute_counts_db((since, until))
    totals: dict[str, int] = {}
    for by_type in counts.values():
        for event_type, n in by_type.items():
            totals[event_type] = totals.get(event_type, 0) + n
    return {
        "since": since,
        "until": until,
        "source": source,
        "totals": totals,
        "per_minute": [{"minute": m, "counts": counts[m]} for m in sorted(counts)],
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
