"""Scenario 3, sending: a campaign to N recipients (default 10,000 in `make bench`; the issue's
size is 100,000: --recipients 100000) through the sandbox provider with its webhooks switched
off, two Celery workers; messages handed to the provider per second, from the "send" POST to the
last Message marked sent (the campaign's finished_at), and exactly N sent.

The sandbox has no switch for its webhooks: its webhook_url points at a sink in this process
that answers 410, which the sandbox takes as "refused for good" and drops the batch after one
post (one per 100 messages). Subscribers are inserted with SQL (setup); the list, the provider
account, the campaign and the send go through the REST API."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import httpx

from mailpulse_bench.harness import (
    HOST,
    SCENARIO_DB,
    Product,
    Result,
    free_port,
    run_product,
    say,
    sql,
)


class Sink:
    """Answers every HTTP request with 410 Gone and counts them."""

    def __init__(self) -> None:
        self.port = free_port()
        self.posts = 0
        self.server: asyncio.Server | None = None

    async def _handle(self, reader, writer) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode("latin-1").split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            await reader.readexactly(length)
            self.posts += 1
            writer.write(b"HTTP/1.1 410 Gone\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> Sink:
        self.server = await asyncio.start_server(self._handle, HOST, self.port)
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()


def _subscribers(list_id: int, count: int, prefix: str = "reader") -> None:
    sql(
        SCENARIO_DB,
        """
        WITH new AS (
            INSERT INTO mailer_subscriber (email, first_name, last_name, attributes, status,
                is_active, created_at, updated_at)
            SELECT %s || g || '@example.com', 'Reader', 'N' || g,
                   jsonb_build_object('plan', 'free'), 'active', true, now(), now()
            FROM generate_series(1, %s) AS g
            RETURNING id
        )
        INSERT INTO mailer_listmembership (subscriber_id, mailing_list_id, added_at)
        SELECT id, %s, now() FROM new
        """,
        [prefix, count, list_id],
        fetch=False,
    )


async def _count(client: httpx.AsyncClient, campaign_id: int, status: str) -> int:
    total, url = 0, f"/api/messages/?campaign={campaign_id}&status={status}&page_size=1000"
    for _ in range(10_000):  # bounded: 10 million messages
        page = (await client.get(url)).json()
        total += len(page["results"])
        if not page.get("next"):
            return total
        url = page["next"]
    return total


async def add_sandbox_account(c: httpx.AsyncClient, sink: Sink, latency_ms: float) -> None:
    """The sandbox provider, its webhooks pointed at the sink (so, switched off)."""
    answer = await c.post(
        "/api/providers/",
        json={
            "name": "Bench sandbox",
            "kind": "sandbox",
            "priority": 1,
            "credentials": {
                "mode": "up",
                "flaky_percent": 0,
                "latency_ms": latency_ms,
                "webhook_format": "mandrill",
                "webhook_url": f"http://{HOST}:{sink.port}/off/",
                "events_delay_s": 0,
            },
        },
    )
    answer.raise_for_status()


async def new_campaign(c: httpx.AsyncClient, n: int, name: str = "Bench") -> int:
    """A list of `n` new subscribers (inserted with SQL) and a campaign to it; its id."""
    answer = await c.post("/api/lists/", json={"name": f"{name} readers"})
    answer.raise_for_status()
    list_id = answer.json()["id"]
    say(f"sending: inserting {n:,} subscribers (setup)")
    await asyncio.to_thread(_subscribers, list_id, n, f"{name.lower()}-{list_id}-")
    answer = await c.post(
        "/api/campaigns/",
        json={
            "name": f"{name} campaign",
            "subject": "Hello {{ first_name }}",
            "html_content": "<p>Hi {{ first_name }} {{ last_name }},</p>"
            '<p><a href="https://shop.example/sale">The sale</a></p>'
            '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
            "from_name": "Bench",
            "from_email": "news@shop.example",
            "lists": [list_id],
        },
    )
    answer.raise_for_status()
    return answer.json()["id"]


async def send_and_wait(c: httpx.AsyncClient, campaign_id: int, n: int, timeout_s: float) -> dict:
    """POSTs send and polls until the campaign is no longer sending; its figures."""
    say(f"sending: campaign {campaign_id} to {n:,} recipients")
    t0_wall = time.time()
    t0 = time.monotonic()
    answer = await c.post(f"/api/campaigns/{campaign_id}/send/", json={"confirm": True})
    answer.raise_for_status()
    send_ms = (time.monotonic() - t0) * 1000
    campaign = answer.json()
    deadline = t0 + timeout_s
    last_done = -1
    while time.monotonic() < deadline:
        campaign = (await c.get(f"/api/campaigns/{campaign_id}/")).json()
        if campaign["status"] != "sending":
            break
        done = campaign.get("progress", {}).get("done", 0)
        if done // 2000 != last_done // 2000:
            say(f"sending: {done:,} / {n:,} ({time.monotonic() - t0:.0f} s)")
        last_done = done
        await asyncio.sleep(0.5)
    polled_s = time.monotonic() - t0
    finished = campaign.get("finished_at")
    if finished:
        end = datetime.fromisoformat(finished.replace("Z", "+00:00")).timestamp()
        seconds = end - t0_wall
    else:
        seconds = polled_s
    return {
        "recipients": n,
        "status": campaign["status"],
        "sent": await _count(c, campaign_id, "sent"),
        "failed": await _count(c, campaign_id, "failed"),
        "unfinished": await _count(c, campaign_id, "queued,sending"),
        "seconds": round(seconds, 1),
        "send_request_ms": round(send_ms),
    }


async def _run(product: Product, options, sink: Sink) -> Result:
    n = options.recipients
    async with httpx.AsyncClient(base_url=product.base, headers=product.auth, timeout=300) as c:
        await add_sandbox_account(c, sink, options.sandbox_latency_ms)
        campaign_id = await new_campaign(c, n)
        figures = await send_and_wait(c, campaign_id, n, options.sending_timeout)
    sent, seconds = figures["sent"], figures["seconds"]
    figures.update(
        {
            "messages_per_s": round(sent / seconds, 1) if seconds > 0 else None,
            "workers": options.workers,
            "sandbox_latency_ms": options.sandbox_latency_ms,
            "webhook_posts_refused": sink.posts,
        }
    )
    targets = {
        "messages_per_s": (">= 1000", (figures["messages_per_s"] or 0) >= 1000),
        "exact": (f"exactly {n} sent", sent == n and figures["status"] == "sent"),
    }
    result = Result("sending", f"{n:,} recipients, {options.workers} workers", figures, targets)
    if n < 100_000:
        result.notes.append(
            f"{n:,} recipients, not the issue's 100,000, to keep `make bench` short; "
            "`make bench SCENARIO=sending BENCH_ARGS=--recipients=100000` runs the full size"
        )
    return result


async def _main(product: Product, options) -> list[Result]:
    async with Sink() as sink:
        result = await _run(product, options, sink)
    say(f"sending: {result.figures}")
    return [result]


def run(options) -> list[Result]:
    return run_product(_main, options)
