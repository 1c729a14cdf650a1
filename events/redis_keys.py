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


MINUTE_TTL_S = 25 * 3600
