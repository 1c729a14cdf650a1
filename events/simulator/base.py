"""What every simulated provider format shares: the provider-neutral events it is given and
the request it hands back. A format is one small module that turns `SimulatedEvent`s into the
provider's own webhook events and says how the provider posts and signs them."""

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar


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
    """One provider's webhook format. Subclasses set `slug` (the provider slug of /api/hook/)."""

    slug: ClassVar[str]

    @abstractmethod
    def batch(self, events: Sequence[SimulatedEvent]) -> list[dict[str, Any]]:
        """The events as the provider's webhook events."""

    @abstractmethod
    def post(self, url: str, batch: list[dict[str, Any]]) -> WebhookPost:
        """The request the provider would send to `url` with `batch`, signed where it signs."""
