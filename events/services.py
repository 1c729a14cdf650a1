"""The one write path for events: every event, from any provider or test, enters here."""

import contextlib
import logging
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

import orjson
import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncMinute
from django.utils import timezone
from redis.exceptions import LockError

from config.request_log import request_id_var
from events import live_store, observers
from events.models import EmailEvent, EventKey
from events.normalized import NormalizedEvent
from events.partitions import DEFAULT_PARTITION
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
_ARRAYS = ", ".join(f"%b::{'text' if k == 'jsonb' else k}[]" for _, k in _COLUMNS)
_SELECT = ", ".join(f"t.{n}::jsonb" if n in _JSON_COLUMNS else f"t.{n}" for n, _ in _COLUMNS)
# One statement per batch: unnest the column arrays, claim each event's dedupe key in the
# (unpartitioned) key table, and store only the events whose key was new, in batch order.
# A concurrent batch with the same key waits on the key's unique index, then skips it.
# Only constant names are formatted in; every value is a bound parameter.
_INSERT_SQL = (
    f"WITH t AS (SELECT * FROM unnest({_ARRAYS}) WITH ORDINALITY "  # noqa: S608
    f"AS t({', '.join(n for n, _ in _COLUMNS)}, n)), "
    f"new_keys AS (INSERT INTO {EventKey._meta.db_table} "
    "(provider, dedupe_key, timestamp, received_at) "
    "SELECT provider, dedupe_key, timestamp, received_at FROM t "
    "ON CONFLICT (provider, dedupe_key) DO NOTHING RETURNING provider, dedupe_key) "
    f"INSERT INTO {EmailEvent._meta.db_table} ({_NAMES}) "
    f"SELECT {_SELECT} FROM t JOIN new_keys USING (provider, dedupe_key) ORDER BY t.n "
    "RETURNING id, dedupe_key"
)
_CHECK_VIOLATION = "23514"
_ROUTING_ATTEMPTS = 3


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


def _unique_in_batch(
    provider: str, events: list[NormalizedEvent], received_at: datetime
) -> list[EmailEvent]:
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


def _stale_routing(error: IntegrityError) -> bool:
    """PostgreSQL's refusal of a row it routed to the DEFAULT partition before maintenance
    attached that row's month there (the insert waited for the attach's lock)."""
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) == _CHECK_VIOLATION and (
        getattr(getattr(cause, "diag", None), "table_name", None) == DEFAULT_PARTITION
    )


def _execute_bound(sql: str, params: list) -> list[tuple]:
    """Runs `sql` with its parameters bound by PostgreSQL, in binary. Django's cursors quote
    every value into the SQL text in Python (client-side binding), which for a batch's 18
    arrays cost about a third of a 1,000-event webhook. Errors are Django's, as elsewhere."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()


def _insert_new(rows: list[EmailEvent]) -> list[EmailEvent]:
    values = _column_values(rows)
    for attempt in range(1, _ROUTING_ATTEMPTS + 1):
        try:
            # A savepoint: a refused attempt leaves the caller's transaction usable, and the
            # next one routes with the partitions as they are now.
            with transaction.atomic():
                inserted = dict((key, pk) for pk, key in _execute_bound(_INSERT_SQL, values))
            break
        except IntegrityError as error:
            if attempt == _ROUTING_ATTEMPTS or not _stale_routing(error):
                raise
            logger.info("insert retried: a month partition was attached meanwhile")
    stored = []
    for row in rows:
        if row.dedupe_key in inserted:
            row.pk = inserted[row.dedupe_key]
            row._state.adding = False
            stored.append(row)
    return stored


def events_ingest(
    *,
    provider: str,
    events: list[NormalizedEvent],
    request_id: str | None = None,
    received_at: datetime | None = None,
) -> IngestResult:
    """Store a batch in one transaction, then hand what is new to the observers.

    Idempotent: an event already stored (same provider and dedupe key) is counted as a
    duplicate and not stored again. Events that cannot be normalized are skipped and
    reported. Raises the database's error when PostgreSQL is unavailable: nothing is stored.
    `request_id` (default: the one bound now) goes on the log line and to the observers, and
    `received_at` (default: now) is stored as the time the events arrived, and as the time of
    those the provider gave none; the spool replays both as the webhook request had them.
    """
    request_id = request_id or request_id_var.get()
    storable, skipped = [], []
    for index, event in enumerate(events):
        problem = event.problem()
        if problem:
            skipped.append({"index": index, "reason": problem})
        else:
            storable.append(event)
    rows = _unique_in_batch(provider, storable, received_at or timezone.now())
    with transaction.atomic():
        stored = _insert_new(rows) if rows else []
        if stored:
            batch = observers.StoredBatch(events=stored, request_id=request_id)
            transaction.on_commit(lambda: observers.notify(batch))
    logger.info(
        "ingested",
        extra={
            "request_id": request_id,
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


def live_view_rebuild_after(*, outage_since_ms: int) -> int | None:
    """Rebuild the live view once after a Redis outage (or loss of its data) first seen at
    `outage_since_ms`, however many servers saw it: one at a time under a Redis lock, and
    not again if another server rebuilt since. Returns when the live view was built (ms), or
    None while another server is rebuilding it."""
    lock = live_store.rebuild_lock()
    if not lock.acquire(blocking=False):
        return None
    try:
        built = live_store.built_marker()
        if built is None or built < outage_since_ms:
            loaded = live_view_rebuild()
            logger.info("live view rebuilt after a Redis outage", extra={"loaded": loaded})
            built = live_store.built_marker()
        return built
    finally:
        with contextlib.suppress(LockError):
            lock.release()
