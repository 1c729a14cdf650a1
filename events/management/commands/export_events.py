"""`manage.py export_events --since ... [--until ...] --format csv|jsonl [--output file]`."""

from collections.abc import Callable, Iterator
from functools import partial

from django.core.management.base import BaseCommand, CommandError, CommandParser

from events.export import (
    EXPORT_FORMATS,
    EventExportQuerySerializer,
    events_for_export,
    export_lines,
)

FILTERS = ("since", "until", "format", "provider", "type", "campaign")


class Command(BaseCommand):
    help = (
        "Export the events with since <= timestamp < until (until: now by default), oldest "
        "first, as CSV (a header row; cells that would run as a spreadsheet formula are quoted "
        "with ') or JSON lines, in the API's event shape without the raw payload. Streams in "
        "constant memory to --output or standard output."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", required=True, help="ISO 8601 date or time, included")
        parser.add_argument("--until", help="ISO 8601 date or time, excluded (default: now)")
        parser.add_argument("--format", required=True, choices=sorted(EXPORT_FORMATS))
        parser.add_argument("--provider", action="append", help="provider slug (repeatable)")
        parser.add_argument("--type", action="append", help="event type (repeatable)")
        parser.add_argument("--campaign", type=int, help="campaign id")
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args, **options) -> None:
        query = EventExportQuerySerializer(
            data={name: options[name] for name in FILTERS if options[name] is not None}
        )
        if not query.is_valid():
            raise CommandError(
                "; ".join(f"--{name}: {' '.join(errors)}" for name, errors in query.errors.items())
            )
        filters = query.validated_data
        lines = export_lines(events_for_export(filters=filters), filters["format"])
        if options["output"]:
            with open(options["output"], "w", newline="", encoding="utf-8") as out:
                written = self._write(lines, out.write)
        else:
            written = self._write(lines, partial(self.stdout.write, ending=""))
        events = written - 1 if filters["format"] == "csv" else written  # less the header
        where = f" to {options['output']}" if options["output"] else ""
        self.stderr.write(f"Exported {events} events{where}.")

    @staticmethod
    def _write(lines: Iterator[str], write: Callable[[str], object]) -> int:
        count = 0
        for line in lines:
            write(line)
            count += 1
        return count
