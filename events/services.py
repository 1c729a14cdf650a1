"""The one write path for events: every event, from any provider or test, enters here."""

import logging
from dataclasses import dataclass, field, fields
from datetime import timedelta

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncMinute
from django.utils import timezone

from events import live_store, observers
from events.models import EmailEvent
from events.normalized import NormalizedEvent
from events.serializers import serialize_event
from mailer.models import Campaign

logger = logging.getLogger(__name__)

_COLUMNS = (
    ("provider", "text"),
    ("type", "text"),
    ("provider_event", "text"),
    ("recipient", "text"),
    ("message_id", "text"),
    ("provider_event_id", "text"),
    ("dedupe_key", "text"),
    ("timestamp", "timestamptz"),
    ("received_at", "timestamptz"),
    ("campaign_id", "bigint"),
    ("tags", "jsonb"),
    ("metadata", "jsonb"),
    ("description", "text"),
    ("mta_response", "text"),
    ("reject_reason", "text"),
    ("url", "text"),
    ("user_agent", "text"),
    ("raw", "jsonb"),
)
_JSON_COLUMNS = {name for name, kind in _COLUMNS if kind == "jsonb"}
_NAMES = ", ".join(f'"{name}"' for name, _ in _COLUMNS)
_ARRAYS = ", ".join(f"%s::{'text' if k == 'jsonb' else k}[]" for _, k in _COLUMNS)
_SELECT = ", ".join(f"{name}::jsonb" if name in _JSON_COLUMNS else name for name, _ in _COLUMNS)
# One statement per batch: unnest the column arrays, skip what is already stored.
# Only constant names are formatted in; every value is a bound parameter.
_INSERT_SQL = (
    f"INSERT INTO {EmailEvent._meta.db_table} ({_NAMES}) "  # noqa: S608
    f"SELECT {_SELECT} FROM unnest({_ARRAYS}) AS t({', '.join(n for n, _ in _COLUMNS)}) "
    "ON CONFLICT (provider, dedupe_key) DO NOTHING RETURNING id, dedupe_key"
)


@dataclass
class IngestResult:
    stored: list[EmailEvent]
    duplicates: int
    skipped: list[dict] = field(default_factory=list)


def _campaign_ref(event: NormalizedEvent) -> int | None:
    """Our sends put `campaign_id` in the provider metadata."""
    value = str(event.metadata.get("campaign_id", ""))
    return int(value) if value.isdigit() and len(value) < 18 else None


def _existing_campaigns(events: list[NormalizedEvent]) -> set[int]:
    wanted = {ref for ref in map(_campaign_ref, events) if ref is not None}
    if not wanted:
        return set()
    return set(Campaign.objects.filter(pk__in=wanted).values_list("pk", flat=True))


def _unique_in_batch(provider: str, events: list[NormalizedEvent]) -> list[EmailEvent]:
    received_at = timezone.now()
    campaigns = _existing_campaigns(events)
    rows: dict[str, EmailEvent] = {}
    for event in events:
        campaign = _campaign_ref(event)
        row = EmailEvent(
            **{f.name: getattr(event, f.name) for f in fields(event)},
            provider=provider,
            dedupe_key=event.dedupe_key,
            received_at=received_at,
            campaign_id=campaign if campaign in campaigns else None,
        )
        row.timestamp = row.timestamp or received_at
        rows.setdefault(row.dedupe_key, row)
    return list(rows.values())


def _column_values(rows: list[EmailEvent]) -> list[list]:
    columns = []
    for name, _ in _COLUMNS:
        values = [getattr(row, name) for row in rows]
        if name in _JSON_COLUMNS:
            values = [orjson.dumps(v).decode() for v in values]
        columns.append(values)
    return columns


def _insert_new(rows: list[EmailEvent]) -> list[EmailEvent]:
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, _column_values(rows))
        inserted = dict((key, pk) for pk, key in cursor.fetchall())
    stored = []
    for row in rows:
        if row.dedupe_key in inserted:
            row.pk = inserted[row.dedupe_key]
            row._state.adding = False
            stored.append(row)
    return stored


def events_ingest(
    *, provider: str, events: list[NormalizedEvent], request_id: str = "-"
) -> IngestResult:
    """Store a batch in one transaction, then hand what is new to the observers.

    Idempotent: an event already stored (same provider and dedupe key) is counted as a
    duplicate and not stored again. Events that cannot be normalized are skipped and
    reported. Raises the database's error when PostgreSQL is unavailable: nothing is stored.
    """
    storable, skipped = [], []
    for index, event in enumerate(events):
        problem = event.problem()
        if problem:
            skipped.append({"index": index, "reason": problem})
        else:
            storable.append(event)
    rows = _unique_in_batch(provider, storable)
    with transaction.atomic():
        stored = _insert_new(rows) if rows else []
        if stored:
            batch = observers.StoredBatch(events=stored, request_id=request_id)
            transaction.on_commit(lambda: observers.notify(batch))
    logger.info(
        "ingested",
        extra={
            "provider": provider,
            "stored": len(stored),
            "duplicates": len(storable) - len(stored),
        },
    )
    return IngestResult(stored=stored, duplicates=len(storable) - len(stored), skipped=skipped)


def live_view_rebuild() -> int:
    """Rebuild Redis's live view (counters and recent stream) from PostgreSQL; returns the
    number of recent events loaded. Safe to run while webhooks arrive: counts may then be
    off by the events of batches committed during the rebuild, until it is run again."""
    by_dimension = {
        "types": dict(EmailEvent.objects.values_list("type").annotate(n=Count("id"))),
        "providers": dict(EmailEvent.objects.values_list("provider").annotate(n=Count("id"))),
    }
    per_campaign = list(
        EmailEvent.objects.filter(campaign__isnull=False)
        .values_list("campaign_id", "type")
        .annotate(n=Count("id"))
    )
    since = timezone.now() - timedelta(hours=25)
    per_minute = [
        (int(minute.timestamp()) // 60, event_type, n)
        for minute, event_type, n in EmailEvent.objects.filter(timestamp__gte=since)
        .annotate(minute=TruncMinute("timestamp"))
        .values_list("minute", "type")
        .annotate(n=Count("id"))
    ]
    newest = EmailEvent.objects.order_by("-received_at", "-id")[: settings.LIVE_STREAM_MAX_EVENTS]
    recent = [serialize_event(e) for e in reversed(list(newest))]
    live_store.rebuild(by_dimension, per_campaign, per_minute, recent)
    return len(recent)
