"""Celery task that keeps the Redis live view trustworthy when no dashboard is watching.

Dashboards' servers notice a Redis outage themselves (events.live_health). With none
connected, nobody would: so beat runs this every few seconds. A missing `built` marker means
the live view cannot be trusted (Redis lost its data, or a process could not record a batch:
events.live_store.record_batch), and it is rebuilt from PostgreSQL by one worker at a time.
"""

import time

from celery import shared_task
from redis.exceptions import RedisError

from events import live_store
from events.services import live_view_rebuild_after


@shared_task(name="events.live_tasks.repair_live_view", ignore_result=True)
def repair_live_view() -> str:
    try:
        if live_store.built_marker() is not None:
            return "trusted"
        built = live_view_rebuild_after(outage_since_ms=int(time.time() * 1000))
    except RedisError:
        return "redis unavailable"
    return "rebuilt" if built is not None else "rebuilding elsewhere"
