"""Event retention: month partitions ahead of time, and everything older than
EVENT_RETENTION_DAYS removed without blocking ingestion (see events/partitions.py for locks).

What "older" means for each kind of row, with H = now - EVENT_RETENTION_DAYS:
- a month partition goes whole once its last moment is before H (a month is kept while any
  of it is within retention, so the API can show up to a month more than H);
- a DEFAULT partition row goes once its event time, or the time it was received, is before H
  (received_at bounds rows whose event time is far in the future);
- a dedupe key (EventKey) goes only once its event is gone and it was received before H, so
  a retry is never stored twice while the first copy exists;
- a Mailgun webhook nonce goes once no signature it was used with can still be accepted.
Rows go in batches of PRUNE_BATCH_ROWS, each its own short transaction.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from events.models import EventKey, WebhookNonce
from events.partitions import (
    DEFAULT_PARTITION,
    add_months,
    is_lock_timeout,
    month_start,
    months_between,
    partition_create,
    partition_drop,
    partition_name,
    partitions_list,
)

# Months created ahead of the current one: events of the near future (clock skew, scheduled
# sends) land in their month, and a missed run or two changes nothing.
MONTHS_AHEAD = 3
PRUNE_BATCH_ROWS = 5000


@dataclass
class EnsureResult:
    created: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)  # lock timeout: retried on the next run


@dataclass
class PruneResult:
    dropped: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    default_rows: int = 0
    keys: int = 0
    nonces: int = 0
    complete: bool = True  # False: stopped at max_seconds, the next run goes on


def retention_horizon(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.EVENT_RETENTION_DAYS)


def _skipping_lock_timeouts(action, name: str, result) -> bool:
    try:
        return action()
    except OperationalError as error:
        if not is_lock_timeout(error):
            raise
        result.busy.append(name)
        return False


def partitions_ensure(*, now: datetime | None = None) -> EnsureResult:
    """Make sure a partition exists for every month from the retention horizon's to
    MONTHS_AHEAD months after now's. Safe to run anywhere, any number of times at once."""
    now = now or timezone.now()
    result = EnsureResult()
    last = add_months(month_start(now), MONTHS_AHEAD)
    for month in months_between(retention_horizon(now), last):
        name = partition_name(month)
        if _skipping_lock_timeouts(lambda m=month: partition_create(m), name, result):
            result.created.append(name)
    return result


def _delete_in_batches(sql: str, params: list, deadline: float) -> tuple[int, bool]:
    """Run a DELETE (its last parameter is the batch size) until it deletes less than a
    batch; (rows deleted, finished)."""
    deleted = 0
    while time.monotonic() < deadline:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [*params, PRUNE_BATCH_ROWS])
            batch = cursor.rowcount
        deleted += batch
        if batch < PRUNE_BATCH_ROWS:
            return deleted, True
    return deleted, False


_PRUNE_DEFAULT_SQL = (
    f"DELETE FROM {DEFAULT_PARTITION} WHERE ctid = ANY(ARRAY("  # noqa: S608 (constants)
    f"SELECT ctid FROM {DEFAULT_PARTITION} WHERE timestamp < %s OR received_at < %s LIMIT %s))"
)
_KEYS = EventKey._meta.db_table
# Keys whose event no partition can hold any more: before the oldest month kept, or after
# the newest month (those events were in the DEFAULT partition, pruned by received_at).
_PRUNE_KEYS_SQL = (
    f"DELETE FROM {_KEYS} WHERE (provider, dedupe_key) IN ("  # noqa: S608 (constants)
    f"SELECT provider, dedupe_key FROM {_KEYS} "
    "WHERE (timestamp < %s OR timestamp >= %s) AND received_at < %s LIMIT %s)"
)
_NONCES = WebhookNonce._meta.db_table
_PRUNE_NONCES_SQL = (
    f"DELETE FROM {_NONCES} WHERE id = ANY(ARRAY("  # noqa: S608 (constants)
    f"SELECT id FROM {_NONCES} WHERE seen_at < %s LIMIT %s))"
)


def _kept_months(horizon: datetime) -> tuple[datetime, datetime]:
    """[first, end) of the event times month partitions may still hold: from the oldest
    month attached (or the horizon's month, if older) to the end of the newest."""
    months = [p for p in partitions_list() if p.start is not None]
    first = min([month_start(horizon), *(p.start for p in months)])
    return first, max([first, *(p.end for p in months)])


def nonce_cutoff(now: datetime) -> datetime:
    """A nonce's signature was within WEBHOOK_MAX_AGE_S of its first use, and a replay must
    be within WEBHOOK_MAX_AGE_S of its signature: after twice that, no replay can pass."""
    return now - timedelta(seconds=2 * settings.WEBHOOK_MAX_AGE_S)


def events_prune(*, now: datetime | None = None, max_seconds: float | None = None) -> PruneResult:
    """Remove what retention no longer keeps (see the module docstring), oldest months first.
    Stops after `max_seconds` (the next run goes on); safe to run several at once."""
    now = now or timezone.now()
    deadline = time.monotonic() + (max_seconds if max_seconds is not None else float("inf"))
    horizon = retention_horizon(now)
    result = PruneResult()
    for partition in partitions_list():
        if partition.end is not None and partition.end <= horizon:
            dropped = _skipping_lock_timeouts(
                lambda p=partition: partition_drop(p.name), partition.name, result
            )
            if dropped:
                result.dropped.append(partition.name)
    result.default_rows, done = _delete_in_batches(_PRUNE_DEFAULT_SQL, [horizon, horizon], deadline)
    if done:  # keys only once their events are surely gone
        first, end = _kept_months(horizon)
        result.keys, done = _delete_in_batches(_PRUNE_KEYS_SQL, [first, end, horizon], deadline)
    if done:
        result.nonces, done = _delete_in_batches(_PRUNE_NONCES_SQL, [nonce_cutoff(now)], deadline)
    result.complete = done
    return result
