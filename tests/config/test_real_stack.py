"""The suite runs on the real services, not stand-ins."""

import pytest
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.core.cache import cache, caches
from django.db import connection


@pytest.mark.django_db
def test_database_is_postgresql():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert cursor.fetchone()[0].startswith("PostgreSQL")


def test_value_round_trips_through_the_redis_cache():
    cache.set("round-trip", {"n": 1}, 30)

    assert cache.get("round-trip") == {"n": 1}
    assert type(caches["default"]).__module__.startswith("django_redis")


async def test_message_round_trips_through_the_redis_channel_layer():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "hello", "n": 2})

    assert await layer.receive(channel) == {"type": "hello", "n": 2}
    assert isinstance(layer, RedisPubSubChannelLayer)
