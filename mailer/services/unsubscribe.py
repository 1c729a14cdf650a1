"""Unsubscribing enters the one event write path, so dashboards, the message's state and the
suppression list all learn of it the way they learn of a provider's unsubscribe event."""

from django.utils import timezone

from events.models import EventType, Provider
from events.normalized import NormalizedEvent
from events.services import events_ingest
from mailer.models import Message


def message_unsubscribe(*, message: Message, source: str) -> bool:
    """Record that the recipient of `message` unsubscribed; True the first time only."""
    event = NormalizedEvent.build(
        type=EventType.UNSUBSCRIBED,
        provider_event=f"unsubscribe-{source}",
        recipient=message.email,
        message_id=message.provider_message_id or str(message.uid),
        # One unsubscribe per message, however often the link is used.
        provider_event_id=f"unsubscribe:{message.uid}",
        timestamp=timezone.now(),
        metadata={"campaign_id": str(message.campaign_id), "message_uid": str(message.uid)},
        raw={"source": source, "message_uid": str(message.uid)},
    )
    return bool(events_ingest(provider=Provider.MAILPULSE, events=[event]).stored)
