"""The observer hub: after a batch commits, every registered observer sees it once.

One failing observer is logged and counted; it never fails the webhook or the others.
"""

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from config.request_log import request_id_bound
from events.models import EmailEvent
from events.serializers import serialize_event

logger = logging.getLogger(__name__)


@dataclass
class StoredBatch:
    """Events newly stored by one ingest call, in insertion order."""

    events: list[EmailEvent]
    # Set by the live store: the position of this batch in the live stream, for resume.
    cursor: str | None = None
    request_id: str = "-"

    @cached_property
    def serialized(self) -> list[dict]:
        """Each event in its API shape, computed once for all observers."""
        return [serialize_event(e) for e in self.events]


Observer = Callable[[StoredBatch], None]
_observers: list[tuple[str, Observer]] = []
failure_counts: Counter = Counter()


def register(name: str) -> Callable[[Observer], Observer]:
    """Decorator: add an observer; they run in registration order."""

    def decorate(observer: Observer) -> Observer:
        if name not in {n for n, _ in _observers}:
            _observers.append((name, observer))
        return observer

    return decorate


def notify(batch: StoredBatch) -> None:
    # Observers run after commit, maybe outside the request (a spool drain): their log lines
    # carry the id of the request that brought the batch.
    with request_id_bound(batch.request_id):
        for name, observer in _observers:
            try:
                observer(batch)
            except Exception:
                failure_counts[name] += 1
                logger.exception("observer failed", extra={"observer": name})
