"""Scenario 2, latency: dashboards on /ws/email/ while events arrive at a steady rate; the time
from the start of each webhook POST to the event's arrival at each dashboard. Every dashboard
must account for every event: received, or counted in a frame's `dropped` (a sampled feed), and
the frames' counts must add up to every event stored."""

from __future__ import annotations

import asyncio
import secrets
import time

from mailpulse_bench.dashboards import Dashboards
from mailpulse_bench.harness import HOST, Product, Result, RssSampler, quantiles, run_product, say
from mailpulse_bench.load import Batches, PostStats, post_loop

# The daphne's RSS during the last phase run here (scenario 5 reports it).
PEAKS: dict[str, float] = {}


def _paced_requests(batches: Batches, count: int):
    """Requests built when sent: each event id carries its POST's start time."""
    for seq in range(count):
        yield lambda seq=seq: batches.request(f"{seq:09d}x{time.monotonic_ns()}")


async def phase(
    product: Product,
    dashboards_n: int,
    rate: int,
    batch: int,
    seconds: float,
    *,
    processes: int = 1,
    keep_ids: bool = False,
    measure_latency: bool = True,
) -> tuple[dict, RssSampler]:
    """Runs one phase; figures and the RSS samples of daphne during it. Without
    `measure_latency` the dashboards still account for every event, but keep no latencies
    (a long soak would hold millions)."""
    tag = "lat" + secrets.token_hex(4)
    batch = max(1, min(batch, rate))
    dashboards = Dashboards(
        product,
        dashboards_n,
        tag,
        processes=processes,
        latency=measure_latency,
        keep_ids=keep_ids,
    )
    sampler = RssSampler(product.pid()).start()
    connected = await asyncio.to_thread(dashboards.start)
    say(f"latency: {connected}/{dashboards_n} dashboards connected; {rate} events/s")
    batches = Batches(product.hook_url, batch, tag)
    per_s = rate / batch
    senders = max(1, min(8, int(per_s // 25) or 1))
    count = int(per_s * seconds)
    stats = PostStats()
    source = _paced_requests(batches, count)
    t0 = time.monotonic()
    deadline = t0 + seconds + 30  # the count ends the phase; the deadline bounds a slow server
    await asyncio.gather(
        *(
            post_loop(HOST, product.port, source, stats, deadline, batch, pace_s=senders / per_s)
            for _ in range(senders)
        )
    )
    elapsed = time.monotonic() - t0
    feeds, latencies = await asyncio.to_thread(dashboards.stop, 3.0)
    await sampler.stop()
    sent = stats.events_acked
    missing = [max(0, sent - f["events"] - f["dropped"]) for f in feeds]
    miscounted = sum(f["counted"] != sent for f in feeds)
    lat = quantiles(latencies)
    figures = {
        "tag": tag,
        "dashboards": sum(f["connected"] for f in feeds),
        "events_per_s": round(sent / elapsed),
        "batch": batch,
        "seconds": round(elapsed, 1),
        "events_sent": sent,
        "post_errors": stats.errors,
        "http_p99_ms": quantiles(stats.latencies_ms)["p99"],
        "p50_ms": lat["p50"],
        "p95_ms": lat["p95"],
        "p99_ms": lat["p99"],
        "max_ms": lat["max"],
        "deliveries": lat["n"],
        "missing": sum(missing),
        "dashboards_missing_events": sum(m > 0 for m in missing),
        "dropped": sum(f["dropped"] for f in feeds),
        "duplicates": sum(f["duplicates"] for f in feeds),
        "dashboards_with_wrong_counts": miscounted,
        "client_errors": [f["error"] for f in feeds if f["error"]][:3],
        "connect_retries": sum(f.get("retries", 0) for f in feeds),
        "frames": sum(f["frames"] for f in feeds),
        "daphne_peak_rss_mb": sampler.peak_mb,
    }
    return figures, sampler


def _result(case: str, figures: dict, p50: float | None, p99: float) -> Result:
    exact = (
        figures["missing"] == 0
        and figures["dashboards_with_wrong_counts"] == 0
        and figures["post_errors"] == 0
        and not figures["client_errors"]
    )
    targets = {}
    if p50 is not None:
        targets["p50_ms"] = (f"<= {p50:g}", (figures["p50_ms"] or 1e9) <= p50)
    targets["p99_ms"] = (f"<= {p99:g}", (figures["p99_ms"] or 1e9) <= p99)
    targets["exact"] = ("0 missing, counts exact", exact)
    return Result("latency", case, figures, targets)


async def _run(product: Product, options) -> list[Result]:
    results = []
    figures, sampler = await phase(
        product,
        options.latency_dashboards,
        options.latency_rate,
        options.latency_batch,
        options.latency_seconds,
        keep_ids=True,
    )
    PEAKS["latency"] = sampler.peak_mb
    PEAKS["samples"] = sampler.samples
    case = f"{options.latency_dashboards} dashboards, {options.latency_rate} events/s"
    result = _result(case, figures, 50, 250)
    say(f"latency: {result.case}: {figures}")
    results.append(result)
    if options.fanout_dashboards:
        figures, sampler = await phase(
            product,
            options.fanout_dashboards,
            options.fanout_rate,
            1,
            options.fanout_seconds,
            processes=2,
        )
        PEAKS["fanout"] = sampler.peak_mb
        result = _result(
            f"{options.fanout_dashboards} dashboards, {options.fanout_rate} events/s",
            figures,
            None,
            500,
        )
        say(f"latency: {result.case}: {figures}")
        results.append(result)
    return results


def run(options) -> list[Result]:
    return run_product(_run, options)
