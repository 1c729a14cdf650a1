"""NormalizedEvent: what every provider adapter produces and `events_ingest` consumes."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from events.models import EmailEvent

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _clean(value: Any) -> Any:
    """Drop NUL characters, which PostgreSQL text and jsonb refuse, from any nested value."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_clean(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not _INT64_MIN <= value <= _INT64_MAX
    ):
        return str(value)  # orjson and jsonb keep 64-bit integers; larger ones stay as text
    if value is None or isinstance(value, bool | int | float):
        return value
    return _clean(str(value))


def _text(value: Any, field_name: str | None = None) -> str:
    text = _clean(str(value)) if value is not None else ""
    if field_name:
        limit = EmailEvent._meta.get_field(field_name).max_length
        text = text[:limit]
    return text


def strip_angle_brackets(message_id: str) -> str:
    return message_id.strip().removeprefix("<").removesuffix(">")


@dataclass(frozen=True)
class NormalizedEvent:
    type: str
    provider_event: str
    recipient: str
    message_id: str
    provider_event_id: str
    timestamp: datetime | None
    tags: list = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    description: str = ""
    mta_response: str = ""
    reject_reason: str = ""
    url: str = ""
    user_agent: str = ""
    raw: dict = field(default_factory=dict)

    @classmethod
    def build(cls, **values: Any) -> "NormalizedEvent":
        """Coerce loosely typed provider values into a storable event (lengths, NULs, ids)."""
        metadata = values.get("metadata") or {}
        tags = values.get("tags") or []
        raw = values.get("raw")
        return cls(
            type=_text(values.get("type") or "unknown", "type"),
            provider_event=_text(values.get("provider_event"), "provider_event"),
            recipient=_text(values.get("recipient"), "recipient").strip(),
            message_id=strip_angle_brackets(_text(values.get("message_id"), "message_id")),
            provider_event_id=_text(values.get("provider_event_id"), "provider_event_id"),
            timestamp=values.get("timestamp"),
            tags=_clean(list(tags)) if isinstance(tags, list | tuple) else [_text(tags)],
            metadata=_clean(dict(metadata)) if isinstance(metadata, dict) else {},
            description=_text(values.get("description")),
            mta_response=_text(values.get("mta_response")),
            reject_reason=_text(values.get("reject_reason"), "reject_reason"),
            url=_text(values.get("url")),
            user_agent=_text(values.get("user_agent")),
            raw=_clean(raw) if isinstance(raw, dict) else {"value": _clean(raw)},
        )

    @property
    def dedupe_key(self) -> str:
        """Stable across retries: the provider's event id with the recipient, else the content."""
        if self.provider_event_id:
            basis = f"id\n{self.provider_event_id}\n{self.recipient.lower()}"
        else:
            basis = "raw\n" + json.dumps(self.raw, sort_keys=True, default=str)
        return hashlib.sha256(basis.encode()).hexdigest()

    def problem(self) -> str | None:
        """Why this event cannot be stored, or None when it can."""
        if not self.recipient and not self.message_id:
            return "event has neither a recipient nor a message id"
        return None
