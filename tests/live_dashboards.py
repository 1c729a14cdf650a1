"""Dashboards for tests, kept the way the product's own client (static/js/live.js) keeps them:
a websocket to /ws/email/ that keeps the newest cursor, reconnects by itself with backoff and
jitter, resumes from the kept cursor and drops the event ids it already holds (docs/websocket.md).
Many dashboards run in one thread's event loop; the test reads what each one shows."""

import asyncio
import json
import random
import threading
from collections import Counter
from contextlib import suppress

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from events.live_store import cursor_order
from tests.servers import wait_until

BACKOFF_FIRST_S = 0.5
# live.js waits up to 30 s; a shorter cap keeps the tests short, the protocol is the same.
BACKOFF_MAX_S = 4.0


def _backoff_s(failures: int) -> float:
    """Exponential, with "equal jitter" (half fixed, half random) like live.js."""
    step = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (failures - 1))
    return step / 2 + random.random() * step / 2  # noqa: S311 (not for security)


def _newer(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return max(a, b, key=cursor_order)


class LiveDashboard:
    """One dashboard. `urls` are servers' base URLs: it reconnects to the one it was on, and
    moves to the next when a connection cannot be opened (a server that stays down)."""

    def __init__(self, urls: list[str], token: str) -> None:
        self.urls = urls
        self.token = token
        self.url_index = 0
        # What the page shows: the events handed over (each id once) and the counters.
        self.ids: list[int] = []
        self.counters: dict[str, Counter] = {}
        self.progress: list[dict] = []
        # How it got there.
        self.connections = 0
        self.live = False
        self.repeated: list[int] = []  # ids one connection sent twice outside a resume
        self._seen: set[int] = set()
        self._connection_ids: set[int] = set()
        self._cursor: str | None = None
        self._held_cursor: str | None = None
        self._resuming = False

    @property
    def url(self) -> str:
        return self.urls[self.url_index]

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                async with connect(
                    self.url.replace("http://", "ws://") + "/ws/email/",
                    origin=self.url,
                    additional_headers={"Authorization": f"Token {self.token}"},
                    proxy=None,
                    max_size=None,
                    open_timeout=5,
                ) as socket:
                    failures = await self._session(socket, stop)
            except (OSError, TimeoutError, WebSocketException):
                self.url_index = (self.url_index + 1) % len(self.urls)
            self.live = False
            failures += 1
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), _backoff_s(failures))

    async def _session(self, socket, stop: asyncio.Event) -> int:
        """One open connection, until it closes; its failure count for the backoff (0 once
        it went live, as live.js resets it on a snapshot)."""
        self.connections += 1
        self._connection_ids = set()
        if self._cursor:
            self._resuming, self._held_cursor = True, None
            await socket.send(json.dumps({"action": "resume", "cursor": self._cursor}))
        went_live = False
        try:
            while not stop.is_set():
                try:
                    message = await asyncio.wait_for(socket.recv(), 0.2)
                except TimeoutError:
                    continue
                frame = json.loads(message)
                went_live |= frame["type"] == "snapshot"
                self._on_frame(frame)
        except ConnectionClosed:  # by the server, or the server went away
            self._resuming = False
        return 0 if went_live else 1

    def _on_frame(self, frame: dict) -> None:
        if frame["type"] == "snapshot":
            # A new baseline (on connecting, or a resync after Redis came back): what it holds
            # is not sent twice by this connection, as live.js replaces its feed with it.
            self._connection_ids = set()
            self.counters = {dim: Counter(values) for dim, values in frame["counters"].items()}
            self._advance(frame["cursor"])
            self._hand_over(frame["events"], replay=False)
            self.live = True
        elif frame["type"] == "events":
            if frame.get("replay"):
                self._resuming = False
                self._cursor = _newer(_newer(self._cursor, self._held_cursor), frame["cursor"])
            else:
                self._advance(frame["cursor"])
                for dim, values in frame["counts"].items():
                    self.counters.setdefault(dim, Counter()).update(values)
            self._hand_over(frame["events"], replay=bool(frame.get("replay")))
        elif frame["type"] == "progress":
            self.progress.append(frame)

    def _advance(self, cursor: str) -> None:
        # Until a resume's replay arrived, the kept cursor stays where the resume started.
        if self._resuming:
            self._held_cursor = _newer(self._held_cursor, cursor)
        else:
            self._cursor = _newer(self._cursor, cursor)

    def _hand_over(self, events: list[dict], *, replay: bool) -> None:
        for event in events:
            if not replay:
                if event["id"] in self._connection_ids:
                    self.repeated.append(event["id"])
                self._connection_ids.add(event["id"])
            if event["id"] not in self._seen:
                self._seen.add(event["id"])
                self.ids.append(event["id"])

    def shows(self, ids: set[int]) -> bool:
        return ids <= self._seen


class LiveDashboards:
    """One dashboard per API token, all in one background event loop, each starting on
    `urls[0]` (a user may hold only WS_MAX_CONNECTIONS_PER_USER connections)."""

    def __init__(self, urls: list[str], tokens: list[str]) -> None:
        self.dashboards = [LiveDashboard(list(urls), token) for token in tokens]
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            await asyncio.gather(*(d.run(self._stop) for d in self.dashboards))

        self._loop.run_until_complete(main())

    def start(self, timeout_s: float = 30) -> "LiveDashboards":
        """Connect them all; return once every one has its snapshot."""
        self._thread.start()
        self.wait_live(timeout_s)
        return self

    def wait_live(self, timeout_s: float = 30) -> None:
        wait_until(lambda: all(d.live for d in self.dashboards), timeout_s, "dashboards live")

    def wait_showing(self, ids: set[int], timeout_s: float = 30) -> None:
        wait_until(
            lambda: all(d.shows(ids) for d in self.dashboards), timeout_s, "events on dashboards"
        )

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)

    def __iter__(self):
        return iter(self.dashboards)

    def __len__(self) -> int:
        return len(self.dashboards)
