"""Dashboards: N websocket clients of /ws/email/ in a child process (its own event loop, so the
poster's loop does not delay their receive times). Each client takes the snapshot, then counts
every `events` frame: events carrying the run's tag (with their latency, from the send time
embedded in the message id), `dropped`, and the `counts` (which must add up to every event)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from array import array
from dataclasses import dataclass, field

import orjson
import websockets


@dataclass
class Feed:
    frames: int = 0
    events: int = 0  # events of this run received
    dropped: int = 0
    counted: int = 0  # the sum of the frames' provider counts
    ids: set = field(default_factory=set)
    duplicates: int = 0
    connected: bool = False
    retries: int = 0
    error: str = ""


def _sent_ns(message_id: str) -> int:
    # "<tag>-<seq>x<send time ns>-<index>"
    return int(message_id.split("-")[-2].split("x", 1)[1])


async def _connect(url, headers, origin, feed):
    """Connects and reads the snapshot, retrying with backoff as the dashboard's own client
    does (docs/websocket.md): at most 8 tries, about 40 s in all."""
    for attempt in range(8):
        ws = None
        try:
            ws = await websockets.connect(
                url, additional_headers=headers, origin=origin, open_timeout=30, max_size=2**24
            )
            first = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
            if first.get("type") != "snapshot":
                raise ValueError(f"first frame is {first.get('type')!r}, not a snapshot")
            return ws
        except Exception as error:
            feed.retries += 1
            feed.error = f"{type(error).__name__}: {error}"[:200]
            if ws is not None:
                await ws.close()
            await asyncio.sleep(min(8.0, 0.5 * 2**attempt))
    return None


async def _dashboard(url, headers, origin, tag, feed, latencies, ready, stop, keep_ids):
    try:
        ws = await _connect(url, headers, origin, feed)
        if ws is None:
            ready()
            return
        feed.error = ""
        async with ws:
            feed.connected = True
            ready()
            prefix = tag + "-"
            while not stop.is_set():
                try:
                    data = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                now = time.monotonic_ns()
                frame = orjson.loads(data)
                if frame.get("type") != "events":
                    continue
                feed.frames += 1
                feed.dropped += frame.get("dropped", 0)
                feed.counted += sum(frame.get("counts", {}).get("providers", {}).values())
                for event in frame["events"]:
                    mid = event.get("message_id", "")
                    if not mid.startswith(prefix):
                        continue
                    feed.events += 1
                    if keep_ids:
                        if mid in feed.ids:
                            feed.duplicates += 1
                        feed.ids.add(mid)
                    if latencies is not None:
                        latencies.append((now - _sent_ns(mid)) / 1e6)
    except Exception as error:  # reported, not raised: one bad client must not stop the rest
        feed.error = f"{type(error).__name__}: {error}"[:200]
        if not feed.connected:
            ready()


async def _main(pipe, url, token, origin, n, tag, measure_latency, keep_ids):
    headers = {"Authorization": f"Token {token}"}
    feeds = [Feed() for _ in range(n)]
    latencies = array("f") if measure_latency else None
    stop = asyncio.Event()
    pending = n
    all_ready = asyncio.Event()

    def ready():
        nonlocal pending
        pending -= 1
        if pending == 0:
            all_ready.set()

    tasks = []
    for feed in feeds:
        tasks.append(
            asyncio.create_task(
                _dashboard(url, headers, origin, tag, feed, latencies, ready, stop, keep_ids)
            )
        )
        await asyncio.sleep(0.01)  # a gentle ramp, as dashboards open over time
    await all_ready.wait()
    pipe.send(("ready", sum(f.connected for f in feeds)))
    loop = asyncio.get_running_loop()
    grace_s = await loop.run_in_executor(None, pipe.recv)  # the parent says when to stop
    await asyncio.sleep(grace_s)
    stop.set()
    await asyncio.gather(*tasks)
    summary = [
        {
            "frames": f.frames,
            "events": f.events,
            "dropped": f.dropped,
            "counted": f.counted,
            "duplicates": f.duplicates,
            "connected": f.connected,
            "retries": f.retries,
            "error": f.error,
        }
        for f in feeds
    ]
    pipe.send(("done", summary, latencies.tobytes() if latencies is not None else b""))


def _child(pipe, *args):
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(pipe, *args))


class Dashboards:
    """`n` dashboards split over `processes` child processes."""

    def __init__(self, product, n, tag, *, processes=1, latency=False, keep_ids=False):
        self.product, self.n, self.tag = product, n, tag
        self.latency, self.keep_ids = latency, keep_ids
        self.processes = max(1, min(processes, n))
        self.children = []

    def start(self, timeout_s: float = 120) -> int:
        ctx = multiprocessing.get_context("spawn")
        share = [self.n // self.processes] * self.processes
        share[0] += self.n - sum(share)
        origin = self.product.base
        for count in share:
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_child,
                args=(
                    child,
                    self.product.ws_url,
                    self.product.token,
                    origin,
                    count,
                    self.tag,
                    self.latency,
                    self.keep_ids,
                ),
                daemon=True,
            )
            proc.start()
            self.children.append((proc, parent))
        connected = 0
        for _proc, parent in self.children:
            if not parent.poll(timeout_s):
                raise RuntimeError("dashboards did not connect in time")
            connected += parent.recv()[1]
        return connected

    def stop(self, grace_s: float = 2.0, timeout_s: float = 120) -> tuple[list[dict], list[float]]:
        for _, parent in self.children:
            parent.send(grace_s)
        feeds, latencies = [], array("f")
        for proc, parent in self.children:
            if parent.poll(timeout_s):
                _, summary, raw = parent.recv()
                feeds.extend(summary)
                latencies.frombytes(raw)
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
        self.children = []
        return feeds, list(latencies)
