"""Observers of stored event batches (events.observers): they move each campaign message to
its furthest state and keep the suppression list, so every event source feeds them alike."""

import logging
import uuid
from collections import defaultdict

from django.core.exceptions import ValidationError

from events.models import EmailEvent, EventType
from events.observers import StoredBatch
from mailer.models import Message, Suppression
from mailer.models.messages import STATUS_RANK
from mailer.services.audience import suppression_add

logger = logging.getLogger(__name__)

SUPPRESSING = {
    EventType.COMPLAINED: Suppression.Reason.COMPLAINT,
    EventType.UNSUBSCRIBED: Suppression.Reason.UNSUBSCRIBE,
}


def _lower_states(status: str) -> list[str]:
    return [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]


def _messages_of(events: list[EmailEvent]) -> dict[str, int]:
    """Our message ids by the keys events carry: our uid in metadata, or the provider's id."""
    uids = {str(e.metadata.get("message_uid")) for e in events if e.metadata.get("message_uid")}
    provider_ids = {e.message_id for e in events if e.message_id}
    found: dict[str, int] = {}
    for pk, uid in Message.objects.filter(uid__in=_valid_uuids(uids)).values_list("pk", "uid"):
        found[str(uid)] = pk
    for pk, provider_id in Message.objects.filter(provider_message_id__in=provider_ids).values_list(
        "pk", "provider_message_id"
    ):
        found[provider_id] = pk
    return found


def _valid_uuids(values: set[str]) -> list[str]:
    valid = []
    for value in values:
        try:
            valid.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    return valid


def update_message_states(batch: StoredBatch) -> None:
    """Each message moves to the furthest state its events show, never back: one conditional
    UPDATE per target state, so concurrent batches cannot undo each other."""
    events = [e for e in batch.events if e.type in STATUS_RANK]
    if not events:
        return
    messages = _messages_of(events)
    furthest: dict[int, str] = {}
    for event in events:
        pk = messages.get(str(event.metadata.get("message_uid"))) or messages.get(event.message_id)
        if pk and STATUS_RANK[event.type] > STATUS_RANK.get(furthest.get(pk, "queued"), 0):
            furthest[pk] = event.type
    by_state: dict[str, list[int]] = defaultdict(list)
    for pk, state in furthest.items():
        by_state[state].append(pk)
    for state, pks in by_state.items():
        Message.objects.filter(pk__in=pks, status__in=_lower_states(state)).update(status=state)


def is_hard_bounce(event: EmailEvent) -> bool:
    """A bounce that will not go away: not a provider's "soft" bounce, not a 4xx reply."""
    soft = "soft" in event.provider_event.lower() or "transient" in event.description.lower()
    return event.type == EventType.BOUNCED and not soft and event.mta_response[:1] != "4"


def update_suppressions(batch: StoredBatch) -> None:
    """Hard bounces, complaints and unsubscribes put the address on the suppression list."""
    first_by_address: dict[str, tuple[str, EmailEvent]] = {}
    for event in batch.events:
        reason = SUPPRESSING.get(event.type)
        if reason is None and is_hard_bounce(event):
            reason = Suppression.Reason.HARD_BOUNCE
        if reason and event.recipient:
            first_by_address.setdefault(event.recipient.lower(), (reason, event))
    for reason, event in first_by_address.values():
        try:
            suppression_add(email=event.recipient, reason=reason, event=event)
        except ValidationError:
            logger.warning("not suppressed: not an email address", extra={"event_id": event.pk})
