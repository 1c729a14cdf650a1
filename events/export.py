"""Exporting the events of a time range as CSV or JSON lines, for operators and analysts.

Rows are read through a server-side cursor in chunks and written as they are read, so an
export of any size takes constant memory, whether it streams to an HTTP client
(/api/events/export/) or to a file (`manage.py export_events`). Each event has its API shape
(events.serializers, without the raw payload); CSV cells that a spreadsheet would run as a
formula are neutralised (config.csv_export).
"""

from collections.abc import Iterator
from itertools import chain

import orjson
from django.utils import timezone
from rest_framework import serializers

from config.csv_export import csv_lines
from events.models import EmailEvent
from events.selectors import event_list
from events.serializers import EVENT_FIELDS, EventFilterSerializer, serialize_event

EXPORT_FORMATS = {"csv": "text/csv", "jsonl": "application/x-ndjson"}
EXPORT_CHUNK_ROWS = 2000


class EventExportQuerySerializer(EventFilterSerializer):
    """What to export: events with `since <= timestamp < until` (until: now by default) and
    the history filters (type, provider, campaign...), in `format`."""

    format = serializers.ChoiceField(choices=sorted(EXPORT_FORMATS))
    since = serializers.DateTimeField()

    def validate(self, attrs: dict) -> dict:
        attrs.setdefault("until", timezone.now())
        if attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return attrs


def events_for_export(*, filters: dict) -> Iterator[EmailEvent]:
    """The matching events, oldest first, read in chunks through a server-side cursor."""
    # `raw`, the largest column, is not exported: not read either.
    events = event_list(filters=filters).defer("raw").order_by("timestamp", "id")
    return events.iterator(chunk_size=EXPORT_CHUNK_ROWS)


def _flat(value):
    """Lists and dicts as JSON text (it starts with [ or {, never like a formula)."""
    return orjson.dumps(value).decode() if isinstance(value, list | dict) else value


def export_lines(events: Iterator[EmailEvent], export_format: str) -> Iterator[str]:
    """The events as lines of `export_format` ("csv" with a header row, or "jsonl")."""
    serialized = (serialize_event(event) for event in events)
    if export_format == "jsonl":
        return (orjson.dumps(row).decode() + "\n" for row in serialized)
    rows = ([_flat(row[name]) for name in EVENT_FIELDS] for row in serialized)
    return csv_lines(chain([list(EVENT_FIELDS)], rows))
