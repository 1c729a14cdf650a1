"""Scenario 4, history: the first page of /api/events/ (unfiltered and filtered) and
/api/events/stats/ for the last 24 hours, over N events (default 10 million) in PostgreSQL.

Setup (not measured): a database of its own, loaded with INSERT ... SELECT FROM generate_series
(secondary indexes and constraints dropped during the load and rebuilt the same afterwards),
kept between runs when its marker says it holds the requested rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from datetime import UTC, datetime, timedelta

import httpx

from mailpulse_bench import harness
from mailpulse_bench.harness import Product, Result, quantiles, say, sql

DB_NAME = "mailpulse_bench_history"
REDIS_DB = 10
CAMPAIGNS = 200
RECIPIENTS = 1_000_000
TYPES = (
    # 20 slots: the type mix of a sending day.
    ["sent"] * 5
    + ["delivered"] * 5
    + ["opened"] * 5
    + ["clicked"] * 2
    + ["bounced", "deferred", "complained"]
)
MARKER = "bench_history_loaded"
KEY_TABLE = "events_eventkey"
# Each query is measured for at most this long (a slow one gets fewer requests).
CASE_SECONDS = 30


def _loaded_rows() -> int | None:
    if not harness.database_exists(DB_NAME):
        return None
    try:
        rows = sql(DB_NAME, f"SELECT rows, days FROM {MARKER}")  # noqa: S608
    except Exception:  # no marker: an interrupted load
        return None
    return tuple(rows[0]) if rows else None


def _load(rows: int, days: int, env: dict) -> None:
    t0 = time.monotonic()
    harness.manage(
        env,
        "shell",
        "-c",
        "from mailer.models import Campaign; "
        f"Campaign.objects.bulk_create([Campaign(name=f'history {{n}}', status='sent') "
        f"for n in range({CAMPAIGNS})])",
    )
    first_campaign = sql(DB_NAME, "SELECT min(id) FROM mailer_campaign")[0][0]
    table = "events_emailevent"
    indexes, constraints = [], []
    for loaded in (table, KEY_TABLE):
        indexes += sql(
            DB_NAME,
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname "
            "NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [loaded, loaded],
        )
        constraints += [
            (loaded, name, definition)
            for name, definition in sql(
                DB_NAME,
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('u', 'f')",
                [loaded],
            )
        ]
    for owner, name, _ in constraints:
        sql(DB_NAME, f'ALTER TABLE {owner} DROP CONSTRAINT "{name}"', fetch=False)
    for name, _ in indexes:
        sql(DB_NAME, f'DROP INDEX "{name}"', fetch=False)
    types = "ARRAY[" + ",".join(f"'{t}'" for t in TYPES) + "]"
    step = 1_000_000
    for start in range(0, rows, step):
        stop = min(rows, start + step)
        # Event n happens (rows - n) / rows * days ago: uniform over the period, newest last.
        # A campaign covers one slice of the period; one event in five belongs to none.
        query = f"""
            SET synchronous_commit = off;
            INSERT INTO {table} (provider, type, provider_event, recipient, message_id,
                provider_event_id, dedupe_key, timestamp, received_at, campaign_id, tags,
                metadata, description, mta_response, reject_reason, url, user_agent, raw)
            SELECT 'mandrill', t.type, t.type,
                'user' || ((g * 7919) % {RECIPIENTS}) || '@example.com',
                'm' || (g / 4), '', md5(g::text), t.ts, t.ts + interval '2 seconds',
                CASE WHEN g % 5 = 0 THEN NULL
                     ELSE {first_campaign} + (g::bigint * {CAMPAIGNS} / {rows}) END,
                '["bench"]'::jsonb, '{{}}'::jsonb, '', '', '', '', '', '{{}}'::jsonb
            FROM generate_series({start + 1}::bigint, {stop}::bigint) AS g,
            LATERAL (SELECT ({types})[1 + (g * 13) % {len(TYPES)}] AS type,
                     now() - ({rows} - g) * (interval '{days} days' / {rows}) AS ts) AS t
        """  # noqa: S608 (constants only)
        with harness.psycopg.connect(harness.database_url(DB_NAME), autocommit=True) as conn:
            conn.execute(query)
        say(f"history: {stop:,} / {rows:,} rows ({time.monotonic() - t0:.0f} s)")
    with harness.psycopg.connect(harness.database_url(DB_NAME), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        # The dedupe keys events_ingest would have written, in key order (append-only inserts).
        say("history: filling the dedupe key table")
        conn.execute(
            f"INSERT INTO {KEY_TABLE} (provider, dedupe_key, timestamp, received_at) "  # noqa: S608
            f"SELECT provider, dedupe_key, timestamp, received_at FROM {table} "
            "ORDER BY provider, dedupe_key"
        )
        for owner, name, definition in constraints:
            say(f"history: rebuilding {name}")
            conn.execute(f'ALTER TABLE {owner} ADD CONSTRAINT "{name}" {definition}')
        for name, definition in indexes:
            say(f"history: rebuilding {name}")
            # A partitioned table's index is listed "ON ONLY" the parent; built on all of it.
            conn.execute(definition.replace(" ON ONLY ", " ON ", 1))
        conn.execute(f"VACUUM ANALYZE {table}")
        conn.execute(f"VACUUM ANALYZE {KEY_TABLE}")
        conn.execute(f"CREATE TABLE {MARKER} (rows bigint, days int)")
        conn.execute(f"INSERT INTO {MARKER} VALUES (%s, %s)", [rows, days])  # noqa: S608
    say(f"history: loaded {rows:,} events in {time.monotonic() - t0:.0f} s")


def ensure_loaded(product: Product, rows: int, days: int) -> bool:
    """Loads the history database unless it holds `rows` events over `days`; True if cached."""
    if _loaded_rows() == (rows, days):
        say(f"history: reusing {DB_NAME} ({rows:,} events over {days} days)")
        product.prepare(fresh=False)
        return True
    say(f"history: loading {rows:,} events over {days} days into {DB_NAME} (setup, once)")
    product.prepare(fresh=True)
    _load(rows, days, product.env)
    return False


def _scans() -> tuple[int, int]:
    """(sequential scans, rows read by sequential and index scans) of the events table's
    partitions; a sequential scan of an empty partition (a month ahead) reads nothing and
    is not counted."""
    row = sql(
        DB_NAME,
        "SELECT coalesce(sum(seq_scan) FILTER (WHERE n_live_tup > 0), 0), "
        "coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0) "
        "FROM pg_stat_user_tables WHERE relid IN (SELECT relid FROM pg_partition_tree(%s))",
        ["events_emailevent"],
    )[0]
    return int(row[0]), int(row[1])


async def _measure(client: httpx.AsyncClient, paths: list[str], requests: int) -> dict:
    """Sequential requests for at most CASE_SECONDS; a query that times out 3 times is not
    tried further."""
    timings, errors = [], 0
    deadline = time.monotonic() + CASE_SECONDS
    for n in range(requests):
        if time.monotonic() > deadline:
            break
        path = paths[n % len(paths)]
        t0 = time.perf_counter()
        try:
            answer = await client.get(path)
            ok = answer.status_code == 200
        except httpx.TimeoutException:
            ok = False
        timings.append((time.perf_counter() - t0) * 1000)
        if not ok:
            errors += 1
            if errors >= 3:
                break
    return {"errors": errors, **quantiles(timings)}


async def _run_queries(product: Product, rows: int, requests: int) -> list[Result]:
    rng = random.Random(7)  # noqa: S311 (choosing test inputs)
    campaigns = [r[0] for r in sql(DB_NAME, "SELECT id FROM mailer_campaign ORDER BY id")]
    recipients = [f"user{rng.randrange(RECIPIENTS)}@example.com" for _ in range(50)]
    now = datetime.now(UTC)
    since = (now - timedelta(hours=24)).isoformat().replace("+00:00", "Z")
    cases = {
        "first page, unfiltered": ["/api/events/"],
        "by recipient": [f"/api/events/?recipient={r}" for r in recipients],
        "by campaign (recent)": [f"/api/events/?campaign={c}" for c in campaigns[-5:]],
        "by campaign (old)": [f"/api/events/?campaign={c}" for c in campaigns[:5]],
        "by type (delivered)": ["/api/events/?type=delivered"],
        "by type (complained)": ["/api/events/?type=complained"],
        "stats, last 24 h": [f"/api/events/stats/?since={since}"],
    }
    results = []
    async with httpx.AsyncClient(base_url=product.base, headers=product.auth, timeout=10) as c:
        for case, paths in cases.items():
            for path in paths[:2]:  # warm up
                with contextlib.suppress(httpx.TimeoutException):
                    await c.get(path)
            scans_before = _scans()
            figures = await _measure(c, paths, requests)
            scans = _scans()
            seq_scans = scans[0] - scans_before[0]
            rows_per_request = round((scans[1] - scans_before[1]) / max(1, figures["n"]))
            figures = {
                "events_in_db": rows,
                "p50_ms": figures["p50"],
                "p95_ms": figures["p95"],
                "p99_ms": figures["p99"],
                "requests": figures["n"],
                "errors": figures["errors"],
                "full_table_scans": seq_scans,
                "rows_read_per_request": rows_per_request,
            }
            results.append(
                Result(
                    "history",
                    case,
                    figures,
                    {
                        "p95_ms": ("<= 100", figures["p95_ms"] <= 100 and not figures["errors"]),
                        "no_full_scan": (
                            "0 sequential scans, < 1% of rows read",
                            seq_scans == 0 and rows_per_request < rows / 100,
                        ),
                    },
                )
            )
            say(f"history: {case}: {figures}")
    return results


def run(options) -> list[Result]:
    product = Product(DB_NAME, REDIS_DB, workers=0)
    cached = ensure_loaded(product, options.history_rows, options.history_days)
    # The rows were loaded with SQL, not through ingest: the live view (whose per-minute
    # counters answer stats of the last day) is rebuilt from them, as an operator would.
    say("history: rebuilding the live view (manage.py rebuild_live)")
    harness.manage(product.env, "rebuild_live")
    with product:
        product.start()
        results = asyncio.run(_run_queries(product, options.history_rows, options.history_requests))
    for result in results:
        result.figures["days"] = options.history_days
        if cached:
            result.notes.append("database reused from a previous run")
    return results
