"""The monthly partitions of the events table: naming, listing, creating and dropping.

events_emailevent is partitioned BY RANGE (timestamp), one partition per UTC month
(events_emailevent_y2026m11) and a DEFAULT partition for event times no month covers (a
provider's clock, or fuzzed input, can say 1970 or 9999). Every change here runs in its own
short transaction holding MAINTENANCE_LOCK, so two maintenance runs never race, and with
LOCK_TIMEOUT_MS, so it never queues ingestion behind it for longer than that: a change that
cannot get its locks in time is skipped and retried on the next run (nothing depends on it
happening now: an event with no month partition is stored in the DEFAULT one).

Locks, PostgreSQL 15 (measured with pg_locks):
- Creating a month = CREATE TABLE (LIKE parent), move the DEFAULT partition's rows of that
  month into it, ATTACH PARTITION. ATTACH takes SHARE UPDATE EXCLUSIVE on the parent, which
  inserts and reads do not wait for, and ACCESS EXCLUSIVE on the DEFAULT partition, which
  only inserts routed there (out-of-range times) and reads not pruned to months wait for;
  the DEFAULT partition is kept small (retention prunes it), so that is milliseconds.
- Dropping a month needs ACCESS EXCLUSIVE on the parent for a moment (a catalog change; no
  data is rewritten). DETACH PARTITION CONCURRENTLY would avoid that, but PostgreSQL refuses
  it on a table with a DEFAULT partition (and inside a transaction block); DROP TABLE of the
  partition is the same lock as a plain DETACH and one statement. The lock timeout bounds
  how long ingestion can wait behind a drop that is itself waiting for a long read.
"""

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import OperationalError, connection, transaction

from events.models import EmailEvent

logger = logging.getLogger(__name__)

PARENT = EmailEvent._meta.db_table
DEFAULT_PARTITION = f"{PARENT}_default"
LOCK_TIMEOUT_MS = 2000
# Two 32-bit keys: a key space apart from the one-bigint advisory locks on message ids.
MAINTENANCE_LOCK = (0x6D70, 0x6576)  # "mp", "ev"
_MONTH_NAME = re.compile(rf"^{PARENT}_y(\d{{4}})m(\d{{2}})$")
_LOCK_NOT_AVAILABLE = "55P03"


@dataclass
class Partition:
    name: str
    start: datetime | None  # None: the DEFAULT partition
    end: datetime | None
    rows_estimate: int  # from the planner's statistics; -1 until first analyzed
    size_bytes: int


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def add_months(month: datetime, months: int) -> datetime:
    index = month.year * 12 + month.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(month: datetime) -> str:
    return f"{PARENT}_y{month.year:04d}m{month.month:02d}"


def partition_month(name: str) -> datetime | None:
    """The month a partition of ours holds; None for any other table."""
    match = _MONTH_NAME.match(name)
    return datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC) if match else None


def _literal(moment: datetime) -> str:
    # Built from a datetime only, never from input: safe to put in DDL.
    return f"'{moment:%Y-%m-%d %H:%M:%S}+00'"


def partitions_list() -> list[Partition]:
    """Every partition of the events table, months in order, then the DEFAULT one."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid) "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [PARENT],
        )
        rows = cursor.fetchall()
    partitions = []
    for name, estimate, size in rows:
        month = partition_month(name)
        end = add_months(month, 1) if month else None
        partitions.append(Partition(name, month, end, int(estimate), int(size)))
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(partitions, key=lambda p: (p.start is None, p.start or epoch, p.name))


def _maintenance_transaction(cursor) -> None:
    cursor.execute(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}")
    cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(MAINTENANCE_LOCK))


def _attached(cursor, name: str) -> bool:
    cursor.execute(
        "SELECT 1 FROM pg_inherits WHERE inhparent = %s::regclass AND inhrelid = to_regclass(%s)",
        [PARENT, name],
    )
    return cursor.fetchone() is not None


def is_lock_timeout(error: OperationalError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == _LOCK_NOT_AVAILABLE


def partition_create(month: datetime) -> bool:
    """Create the partition of `month` unless it exists; True if created. Rows of that
    month waiting in the DEFAULT partition move into it in the same transaction (PostgreSQL
    refuses to attach a range the DEFAULT partition holds rows of)."""
    name, start, end = partition_name(month), month, add_months(month, 1)
    bounds = f"FROM ({_literal(start)}) TO ({_literal(end)})"
    with transaction.atomic(), connection.cursor() as cursor:
        _maintenance_transaction(cursor)
        if _attached(cursor, name):
            return False
        cursor.execute(f"CREATE TABLE {name} (LIKE {PARENT})")
        # Taken now rather than by ATTACH: no insert may reach the DEFAULT partition with a
        # row of this month between the move and the attach.
        cursor.execute(f"LOCK TABLE {DEFAULT_PARTITION} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "  # noqa: S608 (constants)
            f"WHERE timestamp >= {_literal(start)} AND timestamp < {_literal(end)} "
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        )
        moved = cursor.rowcount
        cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES {bounds}")
    logger.info("event partition created", extra={"partition": name, "moved": moved})
    return True


def partition_drop(name: str) -> bool:
    """Drop one month partition with all its events; True if it was there to drop."""
    with transaction.atomic(), connection.cursor() as cursor:
        _maintenance_transaction(cursor)
        if not _attached(cursor, name):
            return False
        cursor.execute(f"DROP TABLE {name}")
    logger.info("event partition dropped", extra={"partition": name})
    return True


def months_between(first: datetime, last: datetime) -> list[datetime]:
    """The months from the one holding `first` to the one holding `last`, both included."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months
