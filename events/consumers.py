"""/ws/email/: a snapshot on connect, then coalesced live frames; clients filter and resume.

Protocol: docs/websocket.md. Under a flood a client gets at most one frame per
WS_FRAME_INTERVAL_MS with at most WS_MAX_EVENTS_PER_FRAME events; the rest are counted in
`dropped`, while `counts` always carries every event so counters stay exact.
"""

import asyncio
import time
from collections import Counter

import orjson
from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from redis.exceptions import RedisError

from config import metrics
from events import live_health, selectors, ws_limits
from events.broadcast import EVENTS_GROUP
from events.live_store import cursor_order, is_valid_cursor
from events.models import EventType, Provider

CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_MANY_CONNECTIONS = 4429
CLOSE_POLICY_VIOLATION = 1008


def _merge_counts(total: dict[str, Counter], counts: dict[str, dict[str, int]]) -> None:
    for dimension, values in counts.items():
        total.setdefault(dimension, Counter()).update(values)


class EmailEventConsumer(AsyncJsonWebsocketConsumer):
    @classmethod
    async def encode_json(cls, content) -> str:
        return orjson.dumps(content).decode()

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.filters: dict = {"types": set(), "providers": set(), "campaign": None}
        self.pending: list[dict] = []
        self.pending_counts: dict[str, Counter] = {}
        self.dropped = 0
        self.cursor: str | None = None
        self.snapshot_cursor = "0-0"
        self.last_frame_at = 0.0
        self.flush_task: asyncio.Task | None = None
        self.user_id, self.bucket, self.refused = user.pk, ws_limits.TokenBucket(), 0
        self.health = live_health.join(self)
        await self.channel_layer.group_add(EVENTS_GROUP, self.channel_name)
        await self.accept()
        metrics.websocket_connected()
        if not await ws_limits.connection_admit(self.health.redis, self):
            limit = settings.WS_MAX_CONNECTIONS_PER_USER
            await self.send_error(f"At most {limit} open connections per user.", "too_many")
            await self.close(code=CLOSE_TOO_MANY_CONNECTIONS)
        elif self.health.degraded:
            await self.live_status_changed(self.health.status)
        else:
            await self.live_resync()

    async def disconnect(self, code):
        if hasattr(self, "filters"):
            metrics.websocket_disconnected()
            await self.channel_layer.group_discard(EVENTS_GROUP, self.channel_name)
            await ws_limits.connection_release(self.health.redis, self)
            live_health.leave(self)
        if getattr(self, "flush_task", None):
            self.flush_task.cancel()

    # --- client messages

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if not self.bucket.take():
            await self.refuse_flood()
            return
        self.refused = 0
        limit = settings.WS_MAX_MESSAGE_BYTES
        if text_data is None or len(text_data.encode()) > limit:
            await self.send_error(f"Send JSON text messages of at most {limit} bytes.", "too_large")
            return
        try:
            await super().receive(text_data=text_data, **kwargs)
        except ValueError:
            await self.send_error("The message is not valid JSON.")
        except (RedisError, OSError):
            await self.health.report_outage()

    async def refuse_flood(self) -> None:
        """Over the rate: an error frame; a client that keeps on regardless is closed."""
        self.refused += 1
        if self.refused > settings.WS_MESSAGE_BURST:
            await self.close(code=CLOSE_POLICY_VIOLATION)
        else:
            rate = settings.WS_MESSAGES_PER_S
            await self.send_error(f"Too many messages: at most {rate:g} a second.", "rate_limited")

    async def receive_json(self, content, **kwargs):
        action = content.get("action") if isinstance(content, dict) else None
        if action == "filter":
            await self.apply_filter(content)
        elif action == "resume":
            await self.resume(content.get("cursor"))
        else:
            await self.send_error('Unknown action; use "filter" or "resume".')

    async def apply_filter(self, content: dict) -> None:
        types, providers = content.get("types") or [], content.get("providers") or []
        campaign = content.get("campaign")
        if not (isinstance(types, list) and isinstance(providers, list)):
            await self.send_error("types and providers must be lists.")
            return
        unknown = (set(map(str, types)) - set(EventType.values)) | (
            set(map(str, providers)) - set(Provider.values)
        )
        if unknown or not (campaign is None or (isinstance(campaign, int) and campaign > 0)):
            await self.send_error(f"Unknown filter values: {sorted(unknown) or campaign}.")
            return
        self.filters = {"types": set(types), "providers": set(providers), "campaign": campaign}
        await self.send_snapshot()

    async def resume(self, cursor) -> None:
        if not is_valid_cursor(cursor):
            await self.send_error("resume needs the cursor of a frame this server sent.")
            return
        events, new_cursor = await sync_to_async(selectors.events_since_cursor)(cursor=cursor)
        events = [e for e in reversed(events) if self.wanted(e)]
        self.cursor = new_cursor
        await self.send_json(
            {"type": "events", "events": events, "cursor": new_cursor, "replay": True}
        )

    async def send_error(self, detail: str, code: str = "bad_message") -> None:
        await self.send_json({"type": "error", "code": code, "detail": detail})

    # --- Redis health (events.live_health)

    async def live_status_changed(self, status: dict) -> None:
        await self.send_json({"type": "status", **status})

    async def live_resync(self) -> None:
        """A fresh snapshot: on connect, and when Redis is back and the live view rebuilt."""
        try:
            await self.send_snapshot()
        except (RedisError, OSError):
            await self.health.report_outage()

    # --- frames out

    def wanted(self, event: dict) -> bool:
        f = self.filters
        return (
            (not f["types"] or event["type"] in f["types"])
            and (not f["providers"] or event["provider"] in f["providers"])
            and (f["campaign"] is None or event["campaign"] == f["campaign"])
        )

    async def send_snapshot(self) -> None:
        snapshot = await sync_to_async(selectors.live_snapshot)(
            limit=settings.LIVE_SNAPSHOT_EVENTS, campaign_id=self.filters["campaign"]
        )
        # Everything queued so far is in the snapshot: sending it again would count it twice.
        self.pending, self.pending_counts, self.dropped = [], {}, 0
        self.cursor = self.snapshot_cursor = snapshot["cursor"]
        await self.send_json(
            {
                "type": "snapshot",
                **{k: v for k, v in snapshot.items() if k != "events"},
                "events": [e for e in snapshot["events"] if self.wanted(e)],
                "filters": {
                    "types": sorted(self.filters["types"]),
                    "providers": sorted(self.filters["providers"]),
                    "campaign": self.filters["campaign"],
                },
            }
        )

    async def events_batch(self, message: dict) -> None:
        """A stored batch from the broadcaster: queue it and send now or at the next slot."""
        cursor = message.get("cursor")
        if cursor and cursor_order(cursor) <= cursor_order(self.snapshot_cursor):
            return  # already in the snapshot this client was sent
        self.pending.extend(e for e in message["events"] if self.wanted(e))
        _merge_counts(self.pending_counts, message["counts"])
        campaign = self.filters["campaign"]
        if campaign and str(campaign) in message.get("campaign_counts", {}):
            _merge_counts(
                self.pending_counts, {"campaign": message["campaign_counts"][str(campaign)]}
            )
        if cursor:
            self.cursor = max(self.cursor or "0-0", cursor, key=cursor_order)
        overflow = len(self.pending) - settings.WS_MAX_EVENTS_PER_FRAME
        if overflow > 0:
            self.dropped += overflow
            del self.pending[:overflow]
        wait_s = self.last_frame_at + settings.WS_FRAME_INTERVAL_MS / 1000 - time.monotonic()
        if wait_s <= 0:
            await self.flush()
        elif self.flush_task is None or self.flush_task.done():
            self.flush_task = asyncio.create_task(self.flush_later(wait_s))

    async def progress_update(self, message: dict) -> None:
        """Progress of an import or a campaign send: forwarded as it comes (it is rare)."""
        await self.send_json({**message, "type": "progress"})

    async def flush_later(self, wait_s: float) -> None:
        await asyncio.sleep(wait_s)
        await self.flush()

    async def flush(self) -> None:
        if not self.pending and not self.pending_counts:
            return
        frame = {
            "type": "events",
            "events": self.pending[::-1],
            "counts": {d: dict(c) for d, c in self.pending_counts.items()},
            "cursor": self.cursor,
        }
        if self.dropped:
            frame["dropped"] = self.dropped
        metrics.record_frame(events=len(self.pending), dropped=self.dropped)
        self.pending, self.pending_counts, self.dropped = [], {}, 0
        self.last_frame_at = time.monotonic()
        await self.send_json(frame)
