"""The webhook spool: verified events waiting in Redis while PostgreSQL is unreachable.

Providers give up retrying quickly (Amazon SES through SNS within about a minute), so a 503
during a database outage can lose events. Instead, when `events_ingest` fails with a
connection error, `receive_webhook` appends the request's *parsed* events to a Redis stream
and acknowledges; `spool_drain` later replays the stream, in order, into `events_ingest`.

What is spooled: the `NormalizedEvent`s of a request that was verified and parsed on arrival
(parsing needs no database), as JSON, with the provider slug, the request id and the time it
was received. Never the raw body or headers: nothing secret is kept, and nothing has to be
verified again later (signatures with time windows would fail by then).

Durability: the spool is as durable as Redis, so Redis must run with `appendonly yes`
(scripts/stack.sh and docker-compose.dev.yml do). The stream is never trimmed; an entry is
deleted only after its events committed in PostgreSQL.

Replay: entries in stream order, each in one transaction; the events keep the time they were
received (`received_at`, and `timestamp` when the provider gave none). Dedupe makes replays
safe: an entry replayed twice (a drainer died between commit and delete) stores nothing
twice. An entry that can never be stored (a DataError, or one that cannot be decoded) goes to
the dead-letter stream `<prefix>:spool:dead` and is logged; it never blocks the rest. When the
database fails again the drain stops and the entry stays first in line.

Several drainers (the beat task on several workers, an operator's `manage.py webhook_spool
--drain`) may run at once: one holds a Redis lock (redis-py's Lock, renewed per entry, released
only by its holder); the others return at once saying the spool is busy.
"""

import json
import logging
import time
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings
from django.db import DataError, InterfaceError, OperationalError
from django.utils import timezone
from django_redis import get_redis_connection
from redis.exceptions import LockError

from events.normalized import NormalizedEvent
from events.services import events_ingest

logger = logging.getLogger(__name__)

LOCK_TTL_S = 60
DRAIN_BATCH = 100


def spool_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:spool"


def dead_letter_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:spool:dead"


def lock_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:spool:lock"


def _redis():
    return get_redis_connection("default")


# --- encoding


def encode_events(events: list[NormalizedEvent]) -> bytes:
    """JSON of the events; timestamps as ISO 8601. The stdlib encoder, so integers of any
    size survive (the dedupe key of an event without an id hashes its raw content)."""
    rows = []
    for event in events:
        row = asdict(event)
        row["timestamp"] = event.timestamp.isoformat() if event.timestamp else None
        rows.append(row)
    return json.dumps(rows, ensure_ascii=False).encode()


def decode_events(data: bytes) -> list[NormalizedEvent]:
    events = []
    for row in json.loads(data):
        stamp = row.get("timestamp")
        row["timestamp"] = datetime.fromisoformat(stamp) if stamp else None
        events.append(NormalizedEvent(**row))
    return events


# --- writing


def spool_append(
    *, provider: str, events: list[NormalizedEvent], request_id: str = "-", received_at=None
) -> str:
    """Append one request's events to the spool; returns the entry id. Raises Redis's error
    when Redis is unreachable (the webhook then answers 503)."""
    received_at = received_at or timezone.now()
    entry_id = _redis().xadd(
        spool_key(),
        {
            "provider": provider,
            "request_id": request_id,
            "received_at": received_at.isoformat(),
            "count": str(len(events)),
            "events": encode_events(events),
        },
    )
    entry_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    logger.warning(
        "webhook spooled: database unavailable",
        extra={"provider": provider, "events": len(events), "spool_id": entry_id},
    )
    return entry_id


# --- reading


def spool_depth() -> int:
    return int(_redis().xlen(spool_key()))


def _text(fields: dict, name: str, default: str = "") -> str:
    value = fields.get(name.encode(), default)
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def describe(entry_id, fields: dict) -> dict:
    """What an operator may see of an entry: where it came from and how much, no contents."""
    return {
        "id": entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
        "provider": _text(fields, "provider"),
        "received_at": _text(fields, "received_at"),
        "request_id": _text(fields, "request_id"),
        "events": int(_text(fields, "count", "0") or 0),
        **({"error": _text(fields, "error")} if b"error" in fields else {}),
    }


def spool_inspect() -> dict:
    """Depth and oldest entry of the spool, and of the dead-letter stream."""
    redis = _redis()
    report = {}
    for name, key in (("spool", spool_key()), ("dead_letter", dead_letter_key())):
        oldest = redis.xrange(key, count=1)
        report[name] = {
            "depth": int(redis.xlen(key)),
            "oldest": describe(*oldest[0]) if oldest else None,
        }
    return report


# --- draining


@dataclass
class DrainResult:
    entries: int = 0
    stored: int = 0
    duplicates: int = 0
    dead: int = 0
    busy: bool = False  # another drainer holds the lock
    stopped: str = ""  # why the drain stopped before the spool was empty
    remaining: int = 0


def _replay(fields: dict):
    """Store one entry's events, with the request id and time of the webhook request."""
    return events_ingest(
        provider=_text(fields, "provider"),
        events=decode_events(fields[b"events"]),
        request_id=_text(fields, "request_id", "-"),
        received_at=datetime.fromisoformat(_text(fields, "received_at")),
    )


def _dead_letter(redis, entry_id, fields: dict, error: Exception) -> None:
    logger.error(
        "webhook spool entry dead-lettered",
        extra={
            "spool_id": entry_id,
            "provider": _text(fields, "provider"),
            "request_id": _text(fields, "request_id", "-"),
            "error": str(error),
        },
    )
    pipe = redis.pipeline(transaction=True)
    pipe.xadd(
        dead_letter_key(),
        {
            **fields,
            "spool_id": entry_id,
            "error": f"{type(error).__name__}: {error}"[:1000],
            "failed_at": timezone.now().isoformat(),
        },
    )
    pipe.xdel(spool_key(), entry_id)
    pipe.execute()


def spool_drain(max_seconds: float | None = None) -> DrainResult:
    """Replay the spool into `events_ingest`, oldest first, until it is empty, the database
    fails, or `max_seconds` passed. Returns at once (busy) when another drainer runs."""
    redis = _redis()
    result = DrainResult()
    lock = redis.lock(lock_key(), timeout=LOCK_TTL_S)
    if not lock.acquire(blocking=False):
        result.busy, result.remaining = True, spool_depth()
        return result
    deadline = time.monotonic() + max_seconds if max_seconds else None
    try:
        while not result.stopped:
            entries = redis.xrange(spool_key(), count=DRAIN_BATCH)
            if not entries:
                break
            for raw_id, fields in entries:
                entry_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
                if deadline and time.monotonic() > deadline:
                    result.stopped = "time limit"
                    break
                try:
                    lock.reacquire()
                except LockError:
                    result.stopped = "lost the lock"
                    break
                try:
                    ingested = _replay(fields)
                except (OperationalError, InterfaceError) as error:
                    logger.warning("webhook spool: database unavailable", exc_info=True)
                    result.stopped = f"database unavailable: {error}"[:300]
                    break
                except (DataError, ValueError, KeyError, TypeError) as error:
                    _dead_letter(redis, entry_id, fields, error)
                    result.entries += 1
                    result.dead += 1
                    continue
                redis.xdel(spool_key(), entry_id)
                result.entries += 1
                result.stored += len(ingested.stored)
                result.duplicates += ingested.duplicates
    finally:
        with suppress(LockError):
            lock.release()
    result.remaining = spool_depth()
    if result.entries:
        logger.info("webhook spool drained", extra=asdict(result))
    return result
