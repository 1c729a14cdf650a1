"""Scenario 1, ingest: signed Mandrill batches of 1, 100 and 1,000 events from 1 to 8
concurrent senders, with 20 dashboards connected. Per cell: events durably stored per second
(answered 200 = committed; counted again in PostgreSQL and spot-checked in /api/events/),
requests per second, HTTP p50/p99, and events lost or duplicated."""

from __future__ import annotations

import asyncio
import secrets
import time

import httpx

from mailpulse_bench.dashboards import Dashboards
from mailpulse_bench.harness import (
    HOST,
    SCENARIO_DB,
    Product,
    Result,
    quantiles,
    run_product,
    say,
    sql,
)
from mailpulse_bench.load import Batches, PostStats, post_loop

# Requests built ahead per cell: enough for the target rates with room above them.
MAX_EVENTS_PER_S = {1: 3000, 100: 40000, 1000: 50000}


def _requests(batches: Batches, count: int) -> list[bytes]:
    return [batches.request(f"{n:09d}") for n in range(count)]


def _verify(product: Product, tag: str, stats: PostStats, sample_ids: list[str]) -> dict:
    total, distinct = sql(
        SCENARIO_DB,
        "SELECT count(*), count(DISTINCT message_id) FROM events_emailevent "
        "WHERE message_id LIKE %s",
        [tag + "-%"],
    )[0]
    visible = 0
    with httpx.Client(base_url=product.base, headers=product.auth, timeout=30) as client:
        for message_id in sample_ids:
            page = client.get("/api/events/", params={"message_id": message_id}).json()
            visible += len(page["results"]) == 1
    return {
        "in_db": total,
        "lost": max(0, stats.events_acked - total),
        "duplicated": total - distinct,
        "visible_in_api": f"{visible}/{len(sample_ids)}",
    }


async def _cell(product: Product, size: int, senders: int, duration_s: float) -> Result:
    tag = "ing" + secrets.token_hex(4)
    batches = Batches(product.hook_url, size, tag)
    count = max(senders * 4, int(MAX_EVENTS_PER_S[size] * duration_s / size))
    requests = _requests(batches, count)
    stats = PostStats()
    source = iter(requests)
    t0 = time.monotonic()
    deadline = t0 + duration_s
    await asyncio.gather(
        *(post_loop(HOST, product.port, source, stats, deadline, size) for _ in range(senders))
    )
    elapsed = time.monotonic() - t0
    used = stats.requests
    # Spot-check ids from across the requests that were answered.
    picks = sorted({int(used * k / 10) for k in range(10)} | {max(0, used - 1)})
    sample = [f"{tag}-{n:09d}-{(n * 7) % size:04d}" for n in picks if n < used]
    check = _verify(product, tag, stats, sample)
    lat = quantiles(stats.latencies_ms)
    figures = {
        "batch": size,
        "senders": senders,
        "seconds": round(elapsed, 1),
        "requests": stats.requests,
        "errors": stats.errors,
        "statuses": stats.statuses,
        "events_per_s": round(stats.events_acked / elapsed),
        "requests_per_s": round(stats.ok / elapsed, 1),
        "p50_ms": lat["p50"],
        "p99_ms": lat["p99"],
        "events_stored": stats.stored,
        "ran_out_of_payloads": stats.requests >= len(requests),
        **check,
    }
    targets = {
        "exact": ("0 lost, 0 duplicated", check["lost"] == 0 and check["duplicated"] == 0),
    }
    if size == 1000:
        targets["events_per_s"] = (">= 20000", figures["events_per_s"] >= 20000)
    if size == 1:
        targets["requests_per_s"] = (">= 1000", figures["requests_per_s"] >= 1000)
    return Result("ingest", f"batch {size} x {senders} senders", figures, targets)


async def _run(product: Product, options) -> list[Result]:
    results = []
    dashboards = Dashboards(product, options.ingest_dashboards, "ingdash")
    connected = await asyncio.to_thread(dashboards.start)
    say(f"ingest: {connected} dashboards connected")
    try:
        for size in options.ingest_batches:
            for senders in options.ingest_senders:
                result = await _cell(product, size, senders, options.ingest_seconds)
                result.figures["dashboards"] = connected
                say(f"ingest: {result.case}: {result.figures}")
                results.append(result)
                await asyncio.sleep(1)  # let the dashboards drain between cells
    finally:
        feeds, _ = await asyncio.to_thread(dashboards.stop)
    frames = sum(f["frames"] for f in feeds)
    errors = [f["error"] for f in feeds if f["error"]]
    counted = [f["counted"] for f in feeds]
    note = (
        f"{len(feeds)} dashboards: {frames} frames, counts per dashboard "
        f"{min(counted, default=0)}..{max(counted, default=0)} events"
        + (f", errors: {errors[:3]}" if errors else "")
    )
    for result in results:
        result.notes.append(note)
    return results


def run(options) -> list[Result]:
    return run_product(_run, options)
