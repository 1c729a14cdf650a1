"""Celery task keeping event storage in shape (named in settings: CELERY_IMPORTS, and run by
beat hourly): month partitions ahead of time, then retention. Runs anywhere, several at once
(see events/partitions.py)."""

from celery import shared_task

from events.retention import events_prune, partitions_ensure

# A big backlog (the first run after lowering EVENT_RETENTION_DAYS) goes on next hour.
PRUNE_MAX_SECONDS = 600.0


@shared_task(name="events.retention_tasks.maintain_event_storage", ignore_result=True)
def maintain_event_storage() -> None:
    partitions_ensure()
    events_prune(max_seconds=PRUNE_MAX_SECONDS)
