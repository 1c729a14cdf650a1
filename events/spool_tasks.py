"""Celery task draining the webhook spool (named in settings: CELERY_IMPORTS, and run by
beat every few seconds). Cheap when the spool is empty: one XLEN."""

from celery import shared_task

from events.spool import spool_depth, spool_drain

# One run drains for at most this long (a big backlog continues on the next beat); runs that
# find another drainer holding the spool lock return at once.
DRAIN_MAX_SECONDS = 50.0


@shared_task(name="events.spool_tasks.drain_webhook_spool", ignore_result=True)
def drain_webhook_spool() -> int:
    """Replay spooled webhook events into PostgreSQL; returns the entries replayed."""
    if not spool_depth():
        return 0
    return spool_drain(max_seconds=DRAIN_MAX_SECONDS).entries
