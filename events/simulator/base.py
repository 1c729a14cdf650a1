"""What every simulated provider format shares: the provider-neutral events it is given and
the request it hands back. A format is one small module that turns `SimulatedEvent`s into the
provider's own webhook events and says how the provider posts and signs them."""

import base64
import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from django.conf import settings


class SimulationError(Exception):
    """The run cannot go on: the server refused a post (with HTTP `status`) or could not be
    reached, or a format cannot simulate with these settings; the message says which."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Interaction:
    """One open or click of a message, as a provider reports it."""

    ts: int
    ip: str
    user_agent: str
    url: str = ""


@dataclass(frozen=True)
class SimulatedEvent:
    """One event in normalized terms; `type` is one of `traffic.SIMULATED_TYPES`."""

    type: str
    timestamp: int
    message_id: str
    recipient: str
    sender: str
    subject: str
    sent_at: int
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    # The open or click this event reports, and every one before it (providers list them).
    interaction: Interaction | None = None
    opens: tuple[Interaction, ...] = ()
    clicks: tuple[Interaction, ...] = ()
    # SMTP diagnostic of a bounce, deferral or rejection; soft bounces are temporary.
    diagnostic: str = ""
    soft: bool = False


@dataclass(frozen=True)
class WebhookPost:
    """A ready-to-send webhook request."""

    body: bytes
    headers: dict[str, str]


class ProviderFormat(ABC):
    """One provider's webhook format. Subclasses set `slug` (the provider slug of /api/hook/).

    A run uses the format as a context manager, so that a format can start what the run needs
    (or refuse to run) on entering and stop it on leaving."""

    slug: ClassVar[str]
    # The provider posts every event in a request of its own, never several in one.
    one_event_per_post: ClassVar[bool] = False
    # Simulated types the provider has no webhook event for: left out of its traffic.
    unreported: ClassVar[frozenset[str]] = frozenset()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop what entering started (nothing here); exceptions propagate."""
        return None

    def batch(self, events: Sequence[SimulatedEvent]) -> list[dict[str, Any]]:
        """The events as the provider's webhook events."""
        return [self.event(event) for event in events]

    @abstractmethod
    def event(self, event: SimulatedEvent) -> dict[str, Any]:
        """One event as the provider's webhook event."""

    @abstractmethod
    def post(self, url: str, batch: list[dict[str, Any]]) -> WebhookPost:
        """The request the provider would send to `url` with `batch`, signed where it signs."""

    def hint(self, status: int | None) -> str:
        """What to check when the server refused a post with HTTP `status`."""
        if status == 401:
            return "Set WEBHOOK_SECRET here to one of the server's user:password pairs."
        return ""


class JSONFormat(ProviderFormat):
    """A provider that posts a JSON array of events, or (`one_event_per_post`) one event as a
    JSON object. Authenticated by basic auth from WEBHOOK_SECRET unless `headers` says else."""

    def payload(self, batch: list[dict[str, Any]]) -> Any:
        """What the body holds: the batch, or its only event."""
        if self.one_event_per_post:
            (event,) = batch
            return event
        return batch

    def headers(self, payload: Any) -> dict[str, str]:
        """The headers of a post of `payload`, besides its JSON content type."""
        return basic_auth()

    def post(self, url: str, batch: list[dict[str, Any]]) -> WebhookPost:
        payload = self.payload(batch)
        headers = {"Content-Type": "application/json", **self.headers(payload)}
        return WebhookPost(body=json.dumps(payload).encode(), headers=headers)


def basic_auth() -> dict[str, str]:
    """The Authorization header for the first user:password of WEBHOOK_SECRET, if it is set."""
    if not settings.WEBHOOK_SECRET:
        return {}
    credentials = base64.b64encode(settings.WEBHOOK_SECRET[0].encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def iso_time(ts: float) -> str:
    """`ts` in UTC as most providers write it: ISO 8601 with milliseconds and a Z."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message_uuid(event: SimulatedEvent) -> str:
    """The event's message id as a UUID, for providers that name messages so."""
    return str(uuid.UUID(event.message_id))


def smtp_reply(event: SimulatedEvent) -> str:
    """The receiving server's SMTP reply, without the "smtp;" Mandrill puts before it."""
    return event.diagnostic.removeprefix("smtp;")


def rejected_as_spam(event: SimulatedEvent) -> bool:
    """Whether a rejection is for an earlier spam complaint (else for an earlier bounce)."""
    return "spam" in event.diagnostic
