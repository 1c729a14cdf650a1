"""Whether this server's dashboards can be live, and what brings them back after Redis fails.

One monitor per server process (per event loop) while dashboards are connected: every
LIVE_HEALTH_PROBE_INTERVAL_S it reads the live view's `built` marker from Redis.

- Redis unreachable: every dashboard gets a `status` frame "degraded" (the pub/sub channel
  layer cannot deliver frames, and the counters would silently go stale).
- Redis back: the live view missed the batches committed meanwhile, so it is rebuilt from
  PostgreSQL, by one server (services.live_view_rebuild_after, under a Redis lock; the others
  see a `built` marker newer than their outage and only resync). A missing marker means the
  live view cannot be trusted (never built, Redis lost its data, or a process missed a
  batch): rebuilt too.
  Then this process subscribes its channels again and every dashboard gets a `status` "live"
  and a fresh snapshot.
- Each probe also keeps this server's websocket connections counted (events.ws_limits).
"""

import asyncio
import logging
import time
import weakref
from typing import Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from events import redis_keys, services, ws_limits

logger = logging.getLogger(__name__)

LIVE, DEGRADED = "live", "degraded"
REASONS = {
    "redis_unavailable": "Live data paused: Redis unavailable.",
    "rebuilding": "Live data paused: the live view is being rebuilt after a Redis outage.",
}


class Dashboard(Protocol):
    """What the monitor needs of a connected consumer."""

    channel_name: str
    user_id: int

    async def live_status_changed(self, status: dict) -> None: ...

    async def live_resync(self) -> None: ...


def _now_ms() -> int:
    return int(time.time() * 1000)


class LiveHealth:
    def __init__(self) -> None:
        self.dashboards: set[Dashboard] = set()
        self.status: dict = {"state": LIVE}
        self.redis = aioredis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=settings.REDIS_SOCKET_TIMEOUT_S,
            socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT_S,
        )
        self.outage_since_ms: int | None = None
        self.seen_marker: int | None = None
        self.task = asyncio.create_task(self._run())

    @property
    def degraded(self) -> bool:
        return self.status["state"] == DEGRADED

    async def _run(self) -> None:
        try:
            while True:
                await asyncio.sleep(settings.LIVE_HEALTH_PROBE_INTERVAL_S)
                try:
                    await self.probe()
                except Exception:  # e.g. PostgreSQL down during a rebuild: probe again later
                    logger.exception("live health probe failed")
        finally:
            await self.redis.aclose()

    async def probe(self) -> None:
        try:
            marker = await self._marker()
            await ws_limits.connections_refresh(self.redis, self.dashboards)
        except (RedisError, OSError):
            await self.report_outage()
            return
        # Missing: Redis lost its data, or a process missed a batch (live_store.record_batch).
        lost = marker is None
        if lost or (self.outage_since_ms is not None and (marker or 0) < self.outage_since_ms):
            since_ms = self.outage_since_ms or _now_ms()
            marker = await database_sync_to_async(
                services.live_view_rebuild_after, thread_sensitive=False
            )(outage_since_ms=since_ms)
            if marker is None:  # another server is rebuilding: wait for it
                self.outage_since_ms = since_ms
                await self._set_status(DEGRADED, "rebuilding")
                return
        rebuilt_elsewhere = self.seen_marker is not None and marker != self.seen_marker
        recovered = self.outage_since_ms is not None or lost
        if recovered:
            try:
                await get_channel_layer().resubscribe()
            except (RedisError, OSError):
                return  # down again: the next probe tries again
        self.seen_marker, self.outage_since_ms = marker, None
        if recovered or rebuilt_elsewhere:
            await self._set_status(LIVE, None)
            await asyncio.gather(*(d.live_resync() for d in list(self.dashboards)))

    async def report_outage(self) -> None:
        """A dashboard's own read of Redis failed: degraded now, rather than at the next probe."""
        self.outage_since_ms = self.outage_since_ms or _now_ms()
        await self._set_status(DEGRADED, "redis_unavailable")

    async def _marker(self) -> int | None:
        """When the live view was last rebuilt (ms); None when it cannot be trusted."""
        value = await self.redis.get(redis_keys.built())
        return None if value is None else int(value)

    async def _set_status(self, state: str, reason: str | None) -> None:
        status = {"state": state}
        if reason:
            status |= {"reason": reason, "detail": REASONS[reason]}
        if status == self.status:
            return
        if state == DEGRADED:
            logger.warning("live dashboards degraded", extra={"reason": reason})
        self.status = status
        await asyncio.gather(*(d.live_status_changed(status) for d in list(self.dashboards)))


_monitors: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LiveHealth]" = (
    weakref.WeakKeyDictionary()
)


def join(dashboard: Dashboard) -> LiveHealth:
    """Watch Redis for `dashboard` (starting this process's monitor if needed)."""
    loop = asyncio.get_running_loop()
    if loop not in _monitors:
        _monitors[loop] = LiveHealth()
    monitor = _monitors[loop]
    monitor.dashboards.add(dashboard)
    return monitor


def leave(dashboard: Dashboard) -> None:
    """The monitor stops with its last dashboard (and forgets what it saw)."""
    loop = asyncio.get_running_loop()
    monitor = _monitors.get(loop)
    if monitor is None:
        return
    monitor.dashboards.discard(dashboard)
    if not monitor.dashboards:
        monitor.task.cancel()
        del _monitors[loop]
