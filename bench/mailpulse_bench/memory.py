"""Scenario 5, memory: daphne's peak RSS during scenario 2 (<= 300 MB), and its RSS over a run
at a steady load (dashboards connected, events arriving) sampled every few seconds: no growth.
"""

from __future__ import annotations

import statistics

from mailpulse_bench import latency
from mailpulse_bench.harness import Product, Result, run_product, say


async def _run(product: Product, options) -> list[Result]:
    results = []
    if "latency" not in latency.PEAKS:
        say("memory: scenario 2 did not run in this process: running its first phase")
        figures, sampler = await latency.phase(
            product,
            options.latency_dashboards,
            options.latency_rate,
            options.latency_batch,
            options.latency_seconds,
        )
        latency.PEAKS["latency"] = sampler.peak_mb
    peak = max(latency.PEAKS.get("latency", 0), latency.PEAKS.get("fanout", 0))
    results.append(
        Result(
            "memory",
            "peak RSS during scenario 2",
            {"peak_rss_mb": peak},
            {"peak_rss_mb": ("<= 300", 0 < peak <= 300)},
        )
    )
    seconds = options.memory_seconds
    figures, sampler = await latency.phase(
        product, options.memory_dashboards, options.memory_rate, 10, seconds
    )
    samples = sampler.samples
    # Steady state: leave out the first fifth (warm-up); compare the next fifth to the last.
    fifth = max(1, len(samples) // 5)
    early = [kb for _, kb in samples[fifth : 2 * fifth]]
    late = [kb for _, kb in samples[-fifth:]]
    growth = round((statistics.mean(late) - statistics.mean(early)) / 1024, 1) if early else None
    step = max(1, len(samples) // 6)
    curve = [round(kb / 1024) for _, kb in samples[::step]] + [round(samples[-1][1] / 1024)]
    limit = max(5.0, 0.05 * statistics.mean(late) / 1024) if late else 5.0
    results.append(
        Result(
            "memory",
            f"steady {seconds:.0f} s: {options.memory_dashboards} dashboards, "
            f"{options.memory_rate} events/s",
            {
                "peak_rss_mb": sampler.peak_mb,
                "growth_mb": growth,
                "samples_mb": curve,
                "events_sent": figures["events_sent"],
                "missing": figures["missing"],
            },
            {"no_growth": (f"growth < {limit:.0f} MB", growth is not None and growth < limit)},
            notes=[
                f"{seconds:.0f} s steady run (the issue says 5 minutes: "
                "`make bench SCENARIO=memory BENCH_ARGS=--memory-seconds=300`)"
            ]
            if seconds < 300
            else [],
        )
    )
    return results


def run(options) -> list[Result]:
    return run_product(_run, options)
