"""Posting a send batch's webhook events to /api/hook/ as they come due.

A job is what the backend hands the task (JSON, so it travels through Celery): the webhook
format and URL, the seed and scale of the timelines, and the accepted messages. The events
are recomputed from it on every run (timelines are deterministic), so a run only needs to
know up to which due time it already posted.

The posts are built and signed by events.simulator's provider formats, with that provider's
webhook secret from the settings (MANDRILL_WEBHOOK_KEY, WEBHOOK_SECRET...): they pass the same
verification as the real provider's. No "sent" events: Mailpulse records its own when a
message is accepted (mailer.services.messages.messages_record_sent).
"""

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from events.simulator import FORMATS
from events.simulator.base import SimulatedEvent, SimulationError
from events.simulator.runner import send
from mailer.sandbox.timeline import SentMessage, plan, simulated_events

logger = logging.getLogger(__name__)

# Events due within this long of each other go in one post.
GROUP_S = 0.5
# A run waits (sleeps) for events due this soon; later ones are left to a scheduled run.
HOLD_S = 1.0
# Most events in one post, for providers that post several.
MAX_BATCH = 500


def job_events(job: Mapping[str, Any]) -> list[tuple[float, SimulatedEvent]]:
    """Every event the job's messages will report, in due order, without the types the
    format's provider has no webhook event for."""
    unreported = FORMATS[job["format"]].unreported
    events: list[tuple[float, int, int, SimulatedEvent]] = []
    for n, data in enumerate(job["messages"]):
        message = SentMessage.from_json(data)
        steps = plan(
            message.message_id,
            seed=job["seed"],
            scale=float(job["scale"]),
            recipient=message.recipient,
        )
        for i, (due, event) in enumerate(simulated_events(message, steps)):
            if event.type not in unreported:
                events.append((due, n, i, event))
    events.sort(key=lambda item: item[:3])
    return [(due, event) for due, _, _, event in events]


@dataclass(frozen=True)
class RunResult:
    # Every event due up to this time was posted (or given up on).
    posted_until: float
    # When the next event is due, if any is left.
    next_due: float | None
    posted: int
    # Why the run stopped early: the server could not take a post now (no answer, 5xx, 429)...
    error: str = ""
    # ...or refused it for good (another 4xx: wrong secret, unknown provider).
    refused: bool = False


def post_due(
    job: Mapping[str, Any],
    *,
    after: float,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> RunResult:
    """Post the events due after `after`: those due now, then those due within HOLD_S as
    they come due, grouping events due within GROUP_S of each other in one post.

    A post the server does not take ends the run with `error` (and `refused` for a 4xx other
    than 429); what was posted before it stays posted (`posted_until`)."""
    try:
        with FORMATS[job["format"]]() as provider:
            return _post_pending(job, provider, after, clock, sleep)
    except SimulationError as error:  # the format cannot post with these settings
        return RunResult(after, None, 0, str(error), refused=True)


def _post_pending(job, provider, after, clock, sleep) -> RunResult:
    pending = [(due, event) for due, event in job_events(job) if due > after]
    url = job["url"]
    posted = 0
    per_post = 1 if provider.one_event_per_post else MAX_BATCH
    while pending:
        first_due = pending[0][0]
        wait = first_due - clock()
        if wait > HOLD_S:
            return RunResult(after, first_due, posted)
        if wait > 0:
            sleep(wait)
        # Everything due by now (a late run catches up in one post), or by this group's end.
        horizon = max(clock(), first_due + GROUP_S)
        group = [(due, event) for due, event in pending if due <= horizon]
        for start in range(0, len(group), per_post):
            part = group[start : start + per_post]
            failure = _post(provider, url, [event for _, event in part])
            if failure:
                return RunResult(after, first_due, posted, *failure)
            after = part[-1][0]
            posted += len(part)
        pending = pending[len(group) :]
    return RunResult(after, None, posted)


def _post(provider, url: str, events: list[SimulatedEvent]) -> tuple[str, bool] | None:
    """Post these events; None when the server took them, else why not and whether for good."""
    try:
        send(url, provider.post(url, provider.batch(events)))
    except SimulationError as error:
        status = error.status
        refused = status is not None and 400 <= status < 500 and status != 429
        hint = provider.hint(status) if refused else ""
        return f"{error} {hint}".strip(), refused
    return None
