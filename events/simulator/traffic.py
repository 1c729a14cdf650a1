"""Realistic, provider-neutral event traffic: event types follow a mix, and each event goes to
a message whose story allows it, so a message is sent, then delivered (or deferred, bounced),
then opened, then clicked, in that order."""

import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from events.simulator import samples
from events.simulator.base import Interaction, SimulatedEvent

SIMULATED_TYPES = (
    "sent",
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "deferred",
    "complained",
    "unsubscribed",
    "rejected",
)
DEFAULT_MIX = (
    "sent=40,delivered=37,opened=12,clicked=4,deferred=3,bounced=2,unsubscribed=1,"
    "complained=0.5,rejected=0.5"
)
# The states a message must be in to get each event; None: the event starts a new message.
ALLOWED_AFTER: dict[str, tuple[str, ...] | None] = {
    "sent": None,
    "rejected": None,
    "deferred": ("sent",),
    "delivered": ("sent", "deferred"),
    "bounced": ("sent", "deferred"),
    "opened": ("delivered", "opened"),
    "clicked": ("opened", "clicked"),
    "complained": ("delivered", "opened", "clicked"),
    "unsubscribed": ("opened", "clicked"),
}
FINAL_TYPES = {"bounced", "rejected", "complained", "unsubscribed"}
MESSAGES_KEPT_PER_STATE = 2000
RECIPIENT_POOL_SIZE = 400
SOFT_BOUNCE_SHARE = 0.3


def parse_mix(text: str) -> dict[str, float]:
    """`"delivered=70,opened=15"` → weights by type; ValueError says what is wrong."""
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, weight = part.partition("=")
        name = name.strip()
        if not sep or name not in SIMULATED_TYPES:
            raise ValueError(
                f"{part!r}: use type=weight with a type of {', '.join(SIMULATED_TYPES)}"
            )
        try:
            mix[name] = float(weight)
        except ValueError:
            raise ValueError(f"{part!r}: the weight must be a number") from None
        if mix[name] < 0:
            raise ValueError(f"{part!r}: the weight must not be negative")
    if not any(mix.values()):
        raise ValueError("the mix needs at least one type with a weight above 0")
    return mix


@dataclass
class _Message:
    message_id: str
    recipient: str
    sender: str
    subject: str
    tags: tuple[str, ...]
    sent_at: int
    opens: list[Interaction] = field(default_factory=list)
    clicks: list[Interaction] = field(default_factory=list)


class Traffic:
    """An endless supply of events following `mix`; `campaign_id` links them to a campaign."""

    def __init__(
        self,
        mix: dict[str, float],
        campaign_id: int | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rng = rng or random.Random()  # noqa: S311  (simulated data, not security)
        self.clock = clock
        self.types = [t for t, w in mix.items() if w > 0]
        self.weights = [mix[t] for t in self.types]
        self.campaign_id = campaign_id
        self.subject = self.rng.choice(samples.SUBJECTS)
        self.recipients = [self._address() for _ in range(RECIPIENT_POOL_SIZE)]
        self.by_state: dict[str, deque[_Message]] = {}

    def take(self, n: int) -> list[SimulatedEvent]:
        return [self.next_event() for _ in range(n)]

    def next_event(self) -> SimulatedEvent:
        event_type = self.rng.choices(self.types, self.weights)[0]
        message = self._message_for(event_type)
        now = int(self.clock())
        interaction = self._interaction(event_type, now)
        soft = event_type == "bounced" and self.rng.random() < SOFT_BOUNCE_SHARE
        event = SimulatedEvent(
            type=event_type,
            timestamp=now,
            message_id=message.message_id,
            recipient=message.recipient,
            sender=message.sender,
            subject=message.subject,
            sent_at=message.sent_at,
            tags=message.tags,
            metadata={"campaign_id": str(self.campaign_id)} if self.campaign_id else {},
            interaction=interaction,
            opens=(*message.opens, *([interaction] if event_type == "opened" else [])),
            clicks=(*message.clicks, *([interaction] if event_type == "clicked" else [])),
            diagnostic=self._diagnostic(event_type, soft),
            soft=soft,
        )
        if event_type == "opened":
            message.opens.append(interaction)
        if event_type == "clicked":
            message.clicks.append(interaction)
        if event_type not in FINAL_TYPES:
            self._keep(message, event_type)
        return event

    def _message_for(self, event_type: str) -> _Message:
        """A message whose story allows `event_type`, else a new one: providers only report
        the events a webhook subscribes to, so a story may start later than `sent`."""
        candidates = [s for s in ALLOWED_AFTER[event_type] or () if self.by_state.get(s)]
        if candidates:
            state = self.by_state[self.rng.choice(candidates)]
            state.rotate(-self.rng.randrange(len(state)))
            return state.popleft()
        return self._new_message()

    def _keep(self, message: _Message, state: str) -> None:
        self.by_state.setdefault(state, deque(maxlen=MESSAGES_KEPT_PER_STATE)).append(message)

    def _new_message(self) -> _Message:
        campaign_tags = (f"campaign-{self.campaign_id}",) if self.campaign_id else ()
        return _Message(
            message_id=uuid.UUID(int=self.rng.getrandbits(128)).hex,
            recipient=self.rng.choice(self.recipients),
            sender=self.rng.choice(samples.SENDERS),
            subject=self.subject if self.campaign_id else self.rng.choice(samples.SUBJECTS),
            tags=campaign_tags or self.rng.choice(samples.TAGS),
            sent_at=int(self.clock()),
        )

    def _address(self) -> str:
        first, last = self.rng.choice(samples.FIRST_NAMES), self.rng.choice(samples.LAST_NAMES)
        number = self.rng.choice(("", "", str(self.rng.randrange(1, 99))))
        return f"{first}.{last}{number}@{self.rng.choice(samples.DOMAINS)}"

    def _interaction(self, event_type: str, now: int) -> Interaction | None:
        if event_type not in ("opened", "clicked"):
            return None
        return Interaction(
            ts=now,
            ip=f"{self.rng.choice(samples.IP_PREFIXES)}{self.rng.randrange(1, 255)}",
            user_agent=self.rng.choice(samples.USER_AGENTS),
            url=self.rng.choice(samples.CLICK_URLS) if event_type == "clicked" else "",
        )

    def _diagnostic(self, event_type: str, soft: bool) -> str:
        pools = {
            "delivered": samples.DELIVERIES,
            "bounced": samples.SOFT_BOUNCES if soft else samples.HARD_BOUNCES,
            "deferred": samples.DEFERRALS,
            "rejected": samples.REJECTIONS,
        }
        return self.rng.choice(pools[event_type]) if event_type in pools else ""
