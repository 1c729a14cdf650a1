"""Liveness of the parts the product cannot work without: PostgreSQL and Redis."""

import logging

from django.db import connection
from django_redis import get_redis_connection

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


def redis_ok() -> bool:
    try:
        return bool(get_redis_connection("default").ping())
    except Exception:
        logger.warning("health: redis unreachable", exc_info=True)
        return False


def health_report() -> dict[str, str]:
    """{"database": "ok"|"down", "redis": "ok"|"down"}."""
    return {
        "database": "ok" if database_ok() else "down",
        "redis": "ok" if redis_ok() else "down",
    }
