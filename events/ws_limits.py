"""Limits per websocket client: a message rate (token bucket, per connection) and a number of
open connections per user, counted in Redis so that it holds across servers.

Each user's connections are a sorted set of channel names scored by when they expire; every
server renews its own on each live-health probe, so the connections of a server that crashed
expire by themselves after CONNECTION_TTL_S. With Redis down, connections are let in
uncounted (the dashboard then shows the outage) and counted again once it is back.
"""

import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from redis import asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

CONNECTION_TTL_S = 60


class Connection(Protocol):
    channel_name: str
    user_id: int


@dataclass
class TokenBucket:
    """WS_MESSAGE_BURST messages at once, then WS_MESSAGES_PER_S on average."""

    rate_per_s: float = field(default_factory=lambda: settings.WS_MESSAGES_PER_S)
    capacity: float = field(default_factory=lambda: float(settings.WS_MESSAGE_BURST))
    tokens: float = field(init=False)
    updated_at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated_at) * self.rate_per_s)
        self.updated_at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _key(user_id: int) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:ws:user:{user_id}"


async def connection_admit(redis: aioredis.Redis, connection: Connection) -> bool:
    """Count the connection for its user; False (and not counted) past the user's limit."""
    key, now = _key(connection.user_id), time.time()
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zadd(key, {connection.channel_name: now + CONNECTION_TTL_S})
            pipe.zcard(key)
            pipe.expire(key, CONNECTION_TTL_S)
            *_, open_connections, _ = await pipe.execute()
        if open_connections <= settings.WS_MAX_CONNECTIONS_PER_USER:
            return True
        await redis.zrem(key, connection.channel_name)
        return False
    except (RedisError, OSError):
        logger.warning("websocket connection not counted: Redis unavailable")
        return True


async def connection_release(redis: aioredis.Redis, connection: Connection) -> None:
    with contextlib.suppress(RedisError, OSError):  # else it expires by itself
        await redis.zrem(_key(connection.user_id), connection.channel_name)


async def connections_refresh(redis: aioredis.Redis, connections: Iterable[Connection]) -> None:
    """Renew this server's connections (and count again those let in during an outage)."""
    connections = list(connections)
    if not connections:
        return
    expires_at = time.time() + CONNECTION_TTL_S
    async with redis.pipeline(transaction=False) as pipe:
        for connection in connections:
            pipe.zadd(_key(connection.user_id), {connection.channel_name: expires_at})
            pipe.expire(_key(connection.user_id), CONNECTION_TTL_S)
        await pipe.execute()
