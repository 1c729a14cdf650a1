"""Soak (issue 8): 30 minutes at 500 events/s with 50 dashboards while campaigns send, one after
another, through the sandbox provider. The ASGI server's memory must stay flat (the curve is
reported, one point a minute) and nothing may be lost: every acknowledged event is in
PostgreSQL exactly once and accounted for by every dashboard, and every recipient of every
finished campaign has exactly one sent message.

    make bench SCENARIO=soak                              # 30 minutes
    make bench SCENARIO=soak BENCH_ARGS="--soak-seconds 300"
"""

from __future__ import annotations

import asyncio
import statistics

import httpx

from mailpulse_bench import latency, sending
from mailpulse_bench.harness import SCENARIO_DB, Product, Result, run_product, say, sql


async def _campaigns(product: Product, options, sink: sending.Sink, stop: asyncio.Event) -> list:
    """Sends campaigns back to back until `stop`; the figures of each one that finished."""
    done = []
    async with httpx.AsyncClient(base_url=product.base, headers=product.auth, timeout=300) as c:
        await sending.add_sandbox_account(c, sink, options.sandbox_latency_ms)
        while not stop.is_set():
            campaign_id = await sending.new_campaign(
                c, options.soak_recipients, f"Soak{len(done) + 1}"
            )
            done.append(
                await sending.send_and_wait(
                    c, campaign_id, options.soak_recipients, options.sending_timeout
                )
            )
    return done


def _stored(tag: str) -> tuple[int, int]:
    """(rows, distinct message ids) of the soak's events in PostgreSQL."""
    rows, distinct = sql(
        SCENARIO_DB,
        "SELECT count(*), count(DISTINCT message_id) FROM events_emailevent "
        "WHERE metadata->>'bench' = %s",
        [tag],
    )[0]
    return rows, distinct


def _curve(samples: list[tuple[float, int]], every_s: float = 60) -> list[int]:
    """RSS in MB at every `every_s` seconds of the run."""
    curve, next_t = [], 0.0
    for t, kb in samples:
        if t >= next_t:
            curve.append(round(kb / 1024))
            next_t += every_s
    return curve


async def _run(product: Product, options) -> list[Result]:
    stop = asyncio.Event()
    async with sending.Sink() as sink:
        campaigns = asyncio.create_task(_campaigns(product, options, sink, stop))
        figures, sampler = await latency.phase(
            product,
            options.soak_dashboards,
            options.soak_rate,
            10,
            options.soak_seconds,
            measure_latency=False,
        )
        stop.set()
        try:
            sent_campaigns = await campaigns
        except (httpx.HTTPError, RuntimeError) as error:
            say(f"soak: the campaign loop failed: {error}")
            sent_campaigns = [{"recipients": 1, "sent": 0}]  # counts as a loss
    rows, distinct = await asyncio.to_thread(_stored, figures["tag"])
    samples = sampler.samples
    fifth = max(1, len(samples) // 5)
    early = statistics.mean(kb for _, kb in samples[fifth : 2 * fifth]) / 1024
    late = statistics.mean(kb for _, kb in samples[-fifth:]) / 1024
    growth = round(late - early, 1)
    recipients = sum(c["recipients"] for c in sent_campaigns)
    sent = sum(c["sent"] for c in sent_campaigns)
    figures = {
        "seconds": figures["seconds"],
        "events_per_s": figures["events_per_s"],
        "events_sent": figures["events_sent"],
        "stored": rows,
        "duplicated": rows - distinct,
        "lost": max(0, figures["events_sent"] - distinct),
        "missing": figures["missing"],
        "dashboards": figures["dashboards"],
        "campaigns": len(sent_campaigns),
        "recipients": recipients,
        "sent": sent,
        "peak_rss_mb": sampler.peak_mb,
        "growth_mb": growth,
        "samples_mb": _curve(samples),
        "post_errors": figures["post_errors"],
    }
    limit = max(5.0, 0.05 * late)
    nothing_lost = (
        figures["lost"] == 0
        and figures["duplicated"] == 0
        and figures["missing"] == 0
        and sent == recipients
        and figures["post_errors"] == 0
    )
    result = Result(
        "soak",
        f"{options.soak_seconds / 60:.0f} min, {options.soak_dashboards} dashboards, "
        f"{options.soak_rate} events/s, campaigns of {options.soak_recipients:,}",
        figures,
        {
            "no_growth": (f"growth < {limit:.0f} MB", growth < limit),
            "nothing_lost": ("0 lost, duplicated, missing; every recipient sent", nothing_lost),
        },
    )
    say(f"soak: {result.figures}")
    return [result]


def run(options) -> list[Result]:
    return run_product(_run, options)
