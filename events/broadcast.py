"""The broadcaster observer: one channel-layer message per stored batch, to every dashboard."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from events.live_store import campaign_counts_of, counts_of
from events.observers import StoredBatch

logger = logging.getLogger(__name__)

EVENTS_GROUP = "email-events"


def broadcast_batch(batch: StoredBatch) -> None:
    if not batch.events:
        return
    message = {
        "type": "events.batch",
        "events": batch.serialized,
        "counts": counts_of(batch.events),
        "campaign_counts": campaign_counts_of(batch.events),
        "cursor": batch.cursor,
    }
    async_to_sync(get_channel_layer().group_send)(EVENTS_GROUP, message)
    logger.info("broadcast", extra={"events": len(batch.events), "cursor": batch.cursor})
