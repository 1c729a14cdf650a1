"""Names of the live view's Redis keys, in one place."""

from django.conf import settings


def key(*parts: object) -> str:
    return ":".join((settings.REDIS_KEY_PREFIX, "live", *map(str, parts)))


def stream() -> str:
    return key("stream")


def counter(dimension: str) -> str:
    """Hash of all-time counts by `types` or `providers`."""
    return key("count", dimension)


def campaign_counter(campaign_id: int) -> str:
    return key("count", "campaign", campaign_id)


def minute_counter(epoch_minute: int) -> str:
    return key("minute", epoch_minute)


def built() -> str:
    """When the live view was last rebuilt from PostgreSQL (ms since the epoch; "0" when it
    was never rebuilt). Missing: Redis lost its data (see events.live_health)."""
    return key("built")


def rebuild_lock() -> str:
    """Outside the live view's keys, which a rebuild deletes."""
    return f"{settings.REDIS_KEY_PREFIX}:live-rebuild-lock"


MINUTE_TTL_S = 25 * 3600
