"""`manage.py webhook_spool --inspect | --drain`: the webhook spool, for operators."""

import json

from django.core.management.base import BaseCommand, CommandError

from events.spool import spool_drain, spool_inspect


class Command(BaseCommand):
    help = (
        "Inspect the webhook spool (events acknowledged while PostgreSQL was unreachable) "
        "or drain it into PostgreSQL. --inspect prints depths and oldest entries (provider, "
        "times, counts; never event contents). --drain replays it in order until empty."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--inspect", action="store_true", help="print depth and oldest")
        action.add_argument("--drain", action="store_true", help="replay into PostgreSQL")
        parser.add_argument(
            "--max-seconds", type=float, default=None, help="stop draining after this long"
        )

    def handle(self, *args, **options):
        if options["inspect"]:
            self.stdout.write(json.dumps(spool_inspect(), indent=2))
            return
        result = spool_drain(max_seconds=options["max_seconds"])
        if result.busy:
            self.stdout.write(
                f"Another drainer is running; {result.remaining} entries in the spool."
            )
            return
        self.stdout.write(
            f"Drained {result.entries} entries: {result.stored} events stored, "
            f"{result.duplicates} duplicates, {result.dead} dead-lettered; "
            f"{result.remaining} entries left."
        )
        if result.stopped and result.remaining:
            raise CommandError(f"Drain stopped: {result.stopped}")
