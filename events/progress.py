"""Progress of long work (CSV imports, campaign sends), pushed to every dashboard as a
`progress` frame (docs/websocket.md). Best effort: the work's own rows stay the truth."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from events.broadcast import EVENTS_GROUP

logger = logging.getLogger(__name__)


def publish_progress(*, kind: str, object_id: int, **state) -> None:
    """Tell dashboards how far `kind` (e.g. "import", "campaign") number `object_id` got;
    `state` is JSON-able, e.g. status="running", done=500, total=1000."""
    message = {"type": "progress.update", "kind": kind, "id": object_id, **state}
    try:
        async_to_sync(get_channel_layer().group_send)(EVENTS_GROUP, message)
    except Exception:
        logger.warning(
            "progress not published", extra={"kind": kind, "id": object_id}, exc_info=True
        )
