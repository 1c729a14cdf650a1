"""Small factories: events enter through the one write path, as in production."""

import itertools
from datetime import UTC, datetime, timedelta

from events.normalized import NormalizedEvent
from events.services import events_ingest

_serial = itertools.count()


def normalized(**fields) -> NormalizedEvent:
    n = next(_serial)
    values = {
        "type": "delivered",
        "provider_event": "delivered",
        "recipient": f"r{n}@example.com",
        "message_id": f"m{n}",
        "provider_event_id": f"e{n}",
        "timestamp": datetime.now(UTC) - timedelta(seconds=1),
        "raw": {"n": n},
    }
    values.update(fields)
    return NormalizedEvent.build(**values)


def ingest(provider: str = "mandrill", **fields_list) -> list:
    """ingest(types=["opened", "clicked"], recipient="x@y") -> the stored EmailEvents."""
    types = fields_list.pop("types", ["delivered"])
    events = [normalized(**{"type": t, "provider_event": t, **fields_list}) for t in types]
    return events_ingest(provider=provider, events=events).stored
