"""Liveness of the parts the product cannot work without: PostgreSQL and Redis; and the depth
of the webhook spool (events acknowledged while PostgreSQL was down, not yet stored)."""

import logging

from django.db import connection

logger = logging.getLogger(__name__)


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.warning("health: database unreachable", exc_info=True)
        connection.close()
        return False


def spool_depth() -> int | None:
    """Entries waiting in the webhook spool; None when Redis is unreachable (reading the depth
    is the Redis check: one round trip)."""
    from events.spool import spool_depth as depth

    try:
        return depth()
    except Exception:
        logger.warning("health: redis unreachable", exc_info=True)
        return None


HEALTH_KEYS = ("database", "redis")


def health_report() -> dict[str, str | int | None]:
    """{"database": "ok"|"down", "redis": "ok"|"down", "spool": entries or None}. Only the
    HEALTH_KEYS decide health: a non-empty spool is a backlog draining, not an outage."""
    spool = spool_depth()
    return {
        "database": "ok" if database_ok() else "down",
        "redis": "ok" if spool is not None else "down",
        "spool": spool,
    }


def is_healthy(report: dict) -> bool:
    return all(report[key] == "ok" for key in HEALTH_KEYS)
