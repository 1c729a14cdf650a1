"""The sandbox provider's webhooks (mailer.sandbox): one task per send batch posts the batch's
events to /api/hook/ as they come due, and schedules itself again for the later ones, so a
worker never waits more than a second on a batch.

A redelivered run (acks_late) may post some events twice; the server stores them once.
"""

import logging
import time

from celery import shared_task

from mailer.sandbox.webhooks import post_due

logger = logging.getLogger(__name__)

TASK_NAME = "mailer.sandbox_tasks.post_sandbox_events"
# Posts the server could not take now (not running, 5xx, 429) are tried again, backing off.
MAX_FAILURES = 6
RETRY_FIRST_S = 2
RETRY_MAX_S = 60


@shared_task(name=TASK_NAME, ignore_result=True)
def post_sandbox_events(job: dict, posted_until: float = 0.0, failures: int = 0) -> dict:
    """Post the job's events due after `posted_until` (see mailer.sandbox.webhooks)."""
    result = post_due(job, after=posted_until)
    if result.refused:
        logger.error("sandbox webhooks refused, the rest of the batch dropped: %s", result.error)
        return {"posted": result.posted, "refused": result.error}
    if result.error:
        if failures + 1 >= MAX_FAILURES:
            logger.error("sandbox webhooks given up after %d tries: %s", failures + 1, result.error)
            return {"posted": result.posted, "given_up": result.error}
        countdown = min(RETRY_MAX_S, RETRY_FIRST_S * 2**failures)
        logger.warning("sandbox webhooks failed, again in %ss: %s", countdown, result.error)
        post_sandbox_events.apply_async(
            args=[job, result.posted_until, failures + 1], countdown=countdown
        )
        return {"posted": result.posted, "retrying": result.error}
    if result.next_due is not None:
        countdown = max(0.0, result.next_due - time.time())
        post_sandbox_events.apply_async(args=[job, result.posted_until], countdown=countdown)
    return {"posted": result.posted, "next_due": result.next_due}
