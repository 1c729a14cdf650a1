"""The load generator's hot path: signed Mandrill batches and a lean keep-alive HTTP/1.1 poster.

Payloads are built from one JSON template per batch size (a placeholder per batch is replaced),
so building and signing a 1,000-event batch is a few string operations. The poster speaks just
enough HTTP/1.1 (Content-Length bodies, keep-alive) to post them without httpx's per-request
overhead, which would otherwise eat the core the server needs; httpx is used everywhere else.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from urllib.parse import quote_plus, urlsplit

from mailpulse_bench.harness import MANDRILL_KEY

PLACEHOLDER = "QQBATCHQQ"
# (Mandrill event, message state): the mix of a sending day.
MIX = (
    [("send", "sent")] * 6
    + [("deferral", "deferred")] * 1
    + [("delivered", "sent")] * 6
    + [("open", "sent")] * 4
    + [("click", "sent")] * 2
    + [("soft_bounce", "soft-bounced")] * 1
)


def _event(i: int, tag: str, ts: int) -> dict:
    name, state = MIX[i % len(MIX)]
    message_id = f"{tag}-{PLACEHOLDER}-{i:04d}"
    msg = {
        "_id": message_id,
        "ts": ts - 60,
        "email": f"user{(i * 7919) % 100000}@example.com",
        "sender": "news@shop.example",
        "subject": "Autumn sale",
        "state": state,
        "tags": ["bench"],
        "metadata": {"bench": tag},
        "opens": [],
        "clicks": [],
        "smtp_events": [],
        "resends": [],
        "template": None,
    }
    event = {"event": name, "_id": message_id, "ts": ts, "msg": msg}
    if name in ("open", "click"):
        event.update({"ip": "192.0.2.10", "user_agent": "Mozilla/5.0 (bench)", "location": None})
        if name == "click":
            event["url"] = "https://shop.example/sale"
    return event


class Batches:
    """Signed Mandrill batches of `size` events for `url`; every event id is unique."""

    def __init__(self, url: str, size: int, tag: str) -> None:
        self.url, self.size, self.tag = url, size, tag
        now = int(time.time())
        self.raw = json.dumps([_event(i, tag, now) for i in range(size)], separators=(",", ":"))
        self.encoded = "mandrill_events=" + quote_plus(self.raw)
        parts = urlsplit(url)
        self.path, self.host = parts.path, parts.netloc

    def request(self, key: str) -> bytes:
        """The whole HTTP request for the batch whose placeholder becomes `key`."""
        raw = self.raw.replace(PLACEHOLDER, key)
        body = self.encoded.replace(PLACEHOLDER, key).encode()
        signed = (self.url + "mandrill_events" + raw).encode()
        sig = base64.b64encode(hmac.new(MANDRILL_KEY.encode(), signed, hashlib.sha1).digest())
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"X-Mandrill-Signature: {sig.decode()}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body


@dataclass
class PostStats:
    requests: int = 0
    ok: int = 0
    errors: int = 0
    events_acked: int = 0
    stored: int = 0
    duplicates: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def send(self, request: bytes, timeout_s: float = 30) -> tuple[int, bytes]:
        for attempt in (0, 1):
            if self.writer is None:
                await self._open()
            try:
                self.writer.write(request)
                return await asyncio.wait_for(self._response(), timeout_s)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _response(self) -> tuple[int, bytes]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        body = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def post_loop(
    host: str,
    port: int,
    requests,
    stats: PostStats,
    deadline: float,
    events_per_request: int,
    pace_s: float = 0.0,
) -> None:
    """Post the requests from the shared iterator until it ends or the deadline passes.
    With pace_s, starts one request every pace_s seconds (open loop, on a schedule)."""
    conn = Connection(host, port)
    next_at = time.monotonic()
    try:
        while time.monotonic() < deadline:
            if pace_s:
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_at += pace_s
            try:
                request = next(requests)
            except StopIteration:
                return
            if callable(request):
                request = request()
            t0 = time.perf_counter()
            try:
                status, body = await conn.send(request)
            except (TimeoutError, OSError, asyncio.IncompleteReadError):
                stats.requests += 1
                stats.errors += 1
                conn.close()
                continue
            stats.latencies_ms.append((time.perf_counter() - t0) * 1000)
            stats.requests += 1
            stats.statuses[status] = stats.statuses.get(status, 0) + 1
            if status == 200:
                stats.ok += 1
                stats.events_acked += events_per_request
                answer = json.loads(body)
                stats.stored += answer.get("stored", 0)
                stats.duplicates += answer.get("duplicates", 0)
            else:
                stats.errors += 1
    finally:
        conn.close()
