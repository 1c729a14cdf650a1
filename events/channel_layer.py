"""The Redis pub/sub channel layer, made to outlive a Redis outage.

channels_redis subscribes a consumer's channel and its groups once, when it connects; while
Redis is down that subscription raises, and the consumer would fail before it can tell its
client anything. Here a failed subscription is logged and remembered instead, and
`resubscribe()` (called by events.live_health when Redis is back) subscribes everything this
process holds again. Subscriptions made before the outage are restored by redis-py itself
when its pub/sub connection reconnects.
"""

import asyncio
import logging

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer
from channels_redis.utils import _wrap_close
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class _OutageTolerantLoopLayer(RedisPubSubLoopLayer):
    async def _subscribe_to_channel(self, channel: str) -> None:
        try:
            await super()._subscribe_to_channel(channel)
        except (RedisError, OSError):
            logger.warning("channel not subscribed: Redis unavailable", exc_info=True)

    async def group_add(self, group: str, channel: str) -> None:
        try:
            await super().group_add(group, channel)
        except (RedisError, OSError):
            logger.warning("group not subscribed: Redis unavailable", exc_info=True)

    async def group_discard(self, group: str, channel: str) -> None:
        try:
            await super().group_discard(group, channel)
        except (RedisError, OSError):
            logger.warning("group not unsubscribed: Redis unavailable", exc_info=True)

    async def resubscribe(self) -> None:
        """Subscribe every channel and group of this process: again those redis-py restores
        by itself (its receive loop may not have reconnected yet, and a message published
        before it does would be lost), and for the first time those that failed."""
        for shard in self._shards:
            async with shard._lock:
                if shard._pubsub is not None and shard._subscribed_to:
                    await shard._pubsub.subscribe(*shard._subscribed_to)
        for name in [*self.channels, *self.groups]:
            await self._get_shard(name).subscribe(name)


class OutageTolerantPubSubChannelLayer(RedisPubSubChannelLayer):
    def _get_layer(self) -> _OutageTolerantLoopLayer:
        loop = asyncio.get_running_loop()
        if loop not in self._layers:
            self._layers[loop] = _OutageTolerantLoopLayer(
                *self._args, **self._kwargs, channel_layer=self
            )
            _wrap_close(self, loop)
        return self._layers[loop]
