"""The live view in Redis: a capped stream of recent events and exact counters.

Written once per batch in one pipeline; everything here can be rebuilt from PostgreSQL
(`manage.py rebuild_live`), so Redis is a fast copy, never the record of truth.
"""

import time
from collections import Counter

import orjson
from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError
from redis.lock import Lock

from config import metrics
from events import redis_keys
from events.models import EmailEvent
from events.observers import StoredBatch

COUNTER_DIMENSIONS = ("types", "providers")
REBUILD_LOCK_TTL_S = 300


def _redis():
    return get_redis_connection("default")


def _count(events: list[EmailEvent]) -> dict[str, Counter]:
    counts: dict[str, Counter] = {"types": Counter(), "providers": Counter()}
    for event in events:
        counts["types"][event.type] += 1
        counts["providers"][event.provider] += 1
    return counts


def _per_campaign(events: list[EmailEvent]) -> dict[int, Counter]:
    counts: dict[int, Counter] = {}
    for event in events:
        if event.campaign_id:
            counts.setdefault(event.campaign_id, Counter())[event.type] += 1
    return counts


def counts_of(events: list[EmailEvent]) -> dict[str, dict[str, int]]:
    """Counter increments a batch makes, as sent to dashboards beside the events."""
    return {dimension: dict(counter) for dimension, counter in _count(events).items()}


def campaign_counts_of(events: list[EmailEvent]) -> dict[str, dict[str, int]]:
    """Per-campaign counter increments of a batch, keyed by campaign id as text."""
    return {str(cid): dict(counter) for cid, counter in _per_campaign(events).items()}


def _add_counters(pipe, events: list[EmailEvent]) -> None:
    for dimension, counter in _count(events).items():
        for name, n in counter.items():
            pipe.hincrby(redis_keys.counter(dimension), name, n)
    for campaign_id, counter in _per_campaign(events).items():
        for event_type, n in counter.items():
            pipe.hincrby(redis_keys.campaign_counter(campaign_id), event_type, n)
    per_minute: Counter = Counter((int(e.timestamp.timestamp()) // 60, e.type) for e in events)
    for (minute, event_type), n in per_minute.items():
        pipe.hincrby(redis_keys.minute_counter(minute), event_type, n)
    # After the HINCRBYs: EXPIRE does nothing to a key that does not exist yet.
    for minute in {m for m, _ in per_minute}:
        pipe.expire(redis_keys.minute_counter(minute), redis_keys.MINUTE_TTL_S)


def _add_to_stream(pipe, serialized: list[dict]) -> None:
    for event in serialized:
        pipe.xadd(
            redis_keys.stream(),
            {"e": orjson.dumps(event)},
            maxlen=settings.LIVE_STREAM_MAX_EVENTS,
            approximate=True,
        )


# Set when this process could not record a batch: the live view misses it. The next batch
# recorded deletes the `built` marker, so the live view is known untrusted everywhere and is
# rebuilt (events.live_tasks, events.live_health).
_missed_a_batch = False


def record_batch(batch: StoredBatch) -> None:
    """Observer: append the batch to the stream and bump counters, in one round trip."""
    global _missed_a_batch
    if not batch.events:
        return
    pipe = _redis().pipeline(transaction=True)
    _add_to_stream(pipe, batch.serialized)
    _add_counters(pipe, batch.events)
    metrics.count_ingested(pipe, batch.events)
    if _missed_a_batch:
        pipe.delete(redis_keys.built())
    try:
        results = pipe.execute()
    except RedisError:
        _missed_a_batch = True
        raise
    _missed_a_batch = False
    batch.cursor = results[len(batch.events) - 1].decode()


def _decode_entries(entries) -> list[dict]:
    return [orjson.loads(fields[b"e"]) for _, fields in entries]


def _decode_hash(values: dict) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in values.items()}


def counters() -> dict[str, dict[str, int]]:
    pipe = _redis().pipeline(transaction=False)
    for dimension in COUNTER_DIMENSIONS:
        pipe.hgetall(redis_keys.counter(dimension))
    return {
        dimension: _decode_hash(values)
        for dimension, values in zip(COUNTER_DIMENSIONS, pipe.execute(), strict=True)
    }


def campaign_counters(campaign_id: int) -> dict[str, int]:
    return _decode_hash(_redis().hgetall(redis_keys.campaign_counter(campaign_id)))


def snapshot(limit: int, campaign_id: int | None = None) -> dict:
    """Counters, the newest `limit` events (newest first) and the cursor to resume from,
    read in one transaction: a batch is either wholly in it (cursor at or after the batch's)
    or wholly after it, so dashboards can add later frames without counting twice."""
    pipe = _redis().pipeline(transaction=True)
    pipe.xrevrange(redis_keys.stream(), count=limit)
    pipe.xrevrange(redis_keys.stream(), count=1)
    for dimension in COUNTER_DIMENSIONS:
        pipe.hgetall(redis_keys.counter(dimension))
    if campaign_id:
        pipe.hgetall(redis_keys.campaign_counter(campaign_id))
    entries, newest, *hashes = pipe.execute()
    hashes = [_decode_hash(values) for values in hashes]
    result = {
        "counters": dict(zip(COUNTER_DIMENSIONS, hashes[: len(COUNTER_DIMENSIONS)], strict=True)),
        "events": _decode_entries(entries),
        "cursor": newest[0][0].decode() if newest else "0-0",
    }
    if campaign_id:
        result["campaign_counters"] = hashes[-1]
    return result


def latest_cursor() -> str:
    info = _redis().xinfo_stream(redis_keys.stream()) if _stream_exists() else None
    return info["last-generated-id"].decode() if info else "0-0"


def _stream_exists() -> bool:
    return bool(_redis().exists(redis_keys.stream()))


def events_after(cursor: str, limit: int) -> tuple[list[dict], str, bool]:
    """Events after `cursor`, oldest first, the new cursor, and whether the stream still
    holds everything after `cursor` (False once it was trimmed or lost: ask PostgreSQL)."""
    redis = _redis()
    first = redis.xrange(redis_keys.stream(), count=1)
    entries = redis.xrange(redis_keys.stream(), min=f"({cursor}", count=limit)
    complete = bool(first) and cursor_order(first[0][0].decode()) <= cursor_order(cursor)
    new_cursor = entries[-1][0].decode() if entries else cursor
    return _decode_entries(entries), new_cursor, complete


def cursor_order(cursor: str) -> tuple[int, int]:
    ms, _, seq = cursor.partition("-")
    return int(ms), int(seq or 0)


def is_valid_cursor(cursor: object) -> bool:
    if not isinstance(cursor, str) or len(cursor) > 40:
        return False
    ms, _, seq = cursor.partition("-")
    return ms.isdigit() and (seq == "" or seq.isdigit())


def cursor_time_ms(cursor: str) -> int:
    return cursor_order(cursor)[0]


def rebuild(events_by_dimension: dict, per_campaign: list, per_minute: list, recent: list) -> None:
    """Replace the whole live view with aggregates read from PostgreSQL (see rebuild_live),
    and mark when."""
    redis = _redis()
    stale = list(redis.scan_iter(match=redis_keys.key("*"), count=1000))
    pipe = redis.pipeline(transaction=True)
    if stale:
        pipe.delete(*stale)
    for dimension, values in events_by_dimension.items():
        if values:
            pipe.hset(redis_keys.counter(dimension), mapping=values)
    for campaign_id, event_type, n in per_campaign:
        pipe.hset(redis_keys.campaign_counter(campaign_id), event_type, n)
    for minute, event_type, n in per_minute:
        pipe.hset(redis_keys.minute_counter(minute), event_type, n)
        pipe.expire(redis_keys.minute_counter(minute), redis_keys.MINUTE_TTL_S)
    _add_to_stream(pipe, recent)
    pipe.set(redis_keys.built(), int(time.time() * 1000))
    pipe.execute()


def built_marker() -> int | None:
    """When the live view was last rebuilt (ms); None when it cannot be trusted: never built,
    Redis lost its data, or a process missed a batch (record_batch)."""
    value = _redis().get(redis_keys.built())
    return None if value is None else int(value)


# One round trip and one reply for a day of minutes (1,440 hashes): whether the live view
# is trusted (its `built` marker exists), then each non-empty minute's offset and fields.
_MINUTE_COUNTS_LUA = """
local out = {}
for i = 2, #KEYS do
  local fields = redis.call('HGETALL', KEYS[i])
  if #fields > 0 then out[#out + 1] = {i - 2, fields} end
end
return cjson.encode({redis.call('EXISTS', KEYS[1]), out})
"""


def minute_counts(first_minute: int, end_minute: int) -> dict[int, dict[str, int]] | None:
    """Counts by type of each epoch minute in [first_minute, end_minute) (at most the last
    day's, which the live view keeps), or None when the live view cannot be trusted: Redis
    lost its data and nothing rebuilt it since (its `built` marker is missing)."""
    keys = [redis_keys.built()]
    keys += [redis_keys.minute_counter(m) for m in range(first_minute, end_minute)]
    trusted, minutes = orjson.loads(_redis().eval(_MINUTE_COUNTS_LUA, len(keys), *keys))
    if not trusted:
        return None
    return {
        first_minute + offset: dict(zip(flat[::2], map(int, flat[1::2]), strict=True))
        for offset, flat in (minutes or [])
    }


def rebuild_lock() -> Lock:
    """Held by the one server rebuilding the live view; expires should that server die."""
    return _redis().lock(redis_keys.rebuild_lock(), timeout=REBUILD_LOCK_TTL_S)
