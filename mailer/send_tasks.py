"""Celery tasks of campaign sending (named in settings: CELERY_IMPORTS, CELERY_BEAT_SCHEDULE).

Chunk tasks rely on CELERY_TASK_ACKS_LATE and CELERY_TASK_REJECT_ON_WORKER_LOST: a chunk whose
worker dies is delivered again, and mailer.services.messages makes that safe.
"""

from celery import shared_task

from mailer.services.messages import chunk_send
from mailer.services.sending import campaigns_resume_stalled, campaigns_start_due

RETRY_BACKOFF_FIRST_S = 15
RETRY_BACKOFF_MAX_S = 30 * 60
CHUNK_MAX_RETRIES = 10


@shared_task(bind=True, name="mailer.send_tasks.send_chunk", max_retries=CHUNK_MAX_RETRIES)
def send_chunk(
    self, campaign_id: int, message_ids: list[int], exclude_accounts: list[int] | None = None
) -> dict:
    """Send these messages of the campaign (not through `exclude_accounts`, provider account
    ids); after a transient failure, the rest later (a retry keeps the exclusion)."""
    result = chunk_send(
        campaign_id=campaign_id,
        message_ids=message_ids,
        exclude_accounts=exclude_accounts or (),
    )
    if result.retry_ids:
        countdown = min(RETRY_BACKOFF_MAX_S, RETRY_BACKOFF_FIRST_S * 2**self.request.retries)
        raise self.retry(args=[campaign_id, result.retry_ids], countdown=countdown)
    return {outcome.value: n for outcome, n in result.outcomes.items()}


@shared_task(name="mailer.send_tasks.start_due_campaigns")
def start_due_campaigns() -> dict:
    """Every few seconds (beat): start scheduled campaigns that are due, and enqueue again
    the messages of sends that stopped moving."""
    return {"started": campaigns_start_due(), "resumed": campaigns_resume_stalled()}
