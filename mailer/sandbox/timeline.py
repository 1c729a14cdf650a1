"""What happens to a message after the sandbox accepted it: its events and when they come.

A message's story is drawn from a random generator seeded with the seed and the provider
message id, so the same message always tells the same story (tests can predict it) while
different messages follow the mix:

- about 96.5 % are delivered 1 to 3 s after the send (3 % of them after a deferral first);
- about 2 % hard-bounce, 1 to 3 s after the send;
- about 1.5 % are deferred and then soft-bounce some seconds later;
- about 40 % of the delivered ones are opened over the following seconds (some twice or
  thrice), and about 25 % of those openers click (some twice);
- about 0.3 % of all messages draw a spam complaint, and 0.3 % an unsubscribe (by openers).

Recipients at `bounce.invalid` always hard-bounce, so a demo is sure to show a bounce.
Every delay is multiplied by `scale` (the sandbox's events_delay_s): 0.05 plays the whole
story in a couple of seconds, for tests.
"""

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from events.simulator import samples
from events.simulator.base import Interaction, SimulatedEvent

DEFAULT_SEED = "mailpulse-sandbox"
# Recipients here always hard-bounce (after being accepted, as a real mailbox would).
HARD_BOUNCE_DOMAIN = "bounce.invalid"
# Links readers click (not the unsubscribe link: unsubscribes are events of their own).
CLICK_URLS = tuple(url for url in samples.CLICK_URLS if "unsubscribe" not in url)


@dataclass(frozen=True)
class Mix:
    """Shares of messages; `open` is of delivered messages, `click` of openers, the others of
    all messages."""

    hard_bounce: float = 0.02
    soft_bounce: float = 0.015
    deferred_first: float = 0.03
    open: float = 0.40
    click: float = 0.25
    complaint: float = 0.003
    unsubscribe: float = 0.003

    @property
    def delivered(self) -> float:
        return 1 - self.hard_bounce - self.soft_bounce


MIX = Mix()


@dataclass(frozen=True)
class Step:
    """One event of a message's story, `at_s` seconds (already scaled) after its send."""

    type: str
    at_s: float
    diagnostic: str = ""
    soft: bool = False
    ip: str = ""
    user_agent: str = ""
    url: str = ""


def plan(
    message_id: str,
    *,
    seed: str = DEFAULT_SEED,
    scale: float = 1.0,
    recipient: str = "",
    mix: Mix = MIX,
) -> tuple[Step, ...]:
    """The story of one message, in time order; the same for the same arguments."""
    rng = random.Random(f"{seed}:{message_id}")  # noqa: S311  (simulated data, not security)
    # Built in unscaled seconds, scaled at the end.
    steps: list[Step] = []
    fate = rng.random()
    t = rng.uniform(1.0, 3.0)
    if recipient.lower().endswith("@" + HARD_BOUNCE_DOMAIN) or fate < mix.hard_bounce:
        steps.append(Step("bounced", t, rng.choice(samples.HARD_BOUNCES)))
    elif fate < mix.hard_bounce + mix.soft_bounce:
        steps.append(Step("deferred", t, rng.choice(samples.DEFERRALS)))
        t += rng.uniform(5.0, 15.0)
        steps.append(Step("bounced", t, rng.choice(samples.SOFT_BOUNCES), soft=True))
    else:
        _delivered_story(rng, mix, t, steps)
    steps.sort(key=lambda step: step.at_s)
    return tuple(replace(step, at_s=round(step.at_s * scale, 6)) for step in steps)


def _delivered_story(rng: random.Random, mix: Mix, t: float, steps: list[Step]) -> None:
    if rng.random() < mix.deferred_first:
        steps.append(Step("deferred", t, rng.choice(samples.DEFERRALS)))
        t += rng.uniform(3.0, 10.0)
    steps.append(Step("delivered", t, rng.choice(samples.DELIVERIES)))
    complains = rng.random() < mix.complaint / mix.delivered
    if rng.random() < mix.open:
        # One reader, one device: the same client and address for each of their opens.
        ip = f"{rng.choice(samples.IP_PREFIXES)}{rng.randrange(1, 255)}"
        agent = rng.choice(samples.USER_AGENTS)
        t += rng.uniform(2.0, 20.0)
        steps.append(Step("opened", t, ip=ip, user_agent=agent))
        if rng.random() < mix.click:
            click_at = t
            for _ in range(1 if rng.random() >= 0.3 else 2):
                click_at += rng.uniform(1.0, 10.0)
                url = rng.choice(CLICK_URLS)
                steps.append(Step("clicked", click_at, ip=ip, user_agent=agent, url=url))
        for _ in range(rng.choice((0, 0, 1, 2))):
            t += rng.uniform(2.0, 15.0)
            steps.append(Step("opened", t, ip=ip, user_agent=agent))
        if rng.random() < mix.unsubscribe / (mix.delivered * mix.open):
            last = max(step.at_s for step in steps)
            steps.append(Step("unsubscribed", last + rng.uniform(2.0, 10.0), ip=ip))
    if complains:
        last = max(step.at_s for step in steps)
        steps.append(Step("complained", last + rng.uniform(3.0, 15.0)))


@dataclass(frozen=True)
class SentMessage:
    """What the sandbox remembers of an accepted message, to report its events later."""

    message_id: str
    recipient: str
    sender: str
    subject: str
    sent_at: float
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, str] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "recipient": self.recipient,
            "sender": self.sender,
            "subject": self.subject,
            "sent_at": self.sent_at,
            "tags": list(self.tags),
            "metadata": dict(self.metadata or {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "SentMessage":
        return cls(
            message_id=data["message_id"],
            recipient=data["recipient"],
            sender=data["sender"],
            subject=data["subject"],
            sent_at=float(data["sent_at"]),
            tags=tuple(data.get("tags") or ()),
            metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        )


def simulated_events(
    message: SentMessage, steps: Sequence[Step]
) -> list[tuple[float, SimulatedEvent]]:
    """The steps as provider-neutral events, each with the time (epoch seconds) it is due."""
    events = []
    opens: list[Interaction] = []
    clicks: list[Interaction] = []
    for step in steps:
        due = message.sent_at + step.at_s
        interaction = None
        if step.type in ("opened", "clicked"):
            interaction = Interaction(int(due), step.ip, step.user_agent, step.url)
            (opens if step.type == "opened" else clicks).append(interaction)
        event = SimulatedEvent(
            type=step.type,
            timestamp=int(due),
            message_id=message.message_id,
            recipient=message.recipient,
            sender=message.sender,
            subject=message.subject,
            sent_at=int(message.sent_at),
            tags=message.tags,
            metadata=dict(message.metadata or {}),
            interaction=interaction,
            opens=tuple(opens),
            clicks=tuple(clicks),
            diagnostic=step.diagnostic,
            soft=step.soft,
        )
        events.append((due, event))
    return events
