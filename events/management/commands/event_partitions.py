"""`manage.py event_partitions --list | --ensure | --prune`: event storage, for operators."""

from django.core.management.base import BaseCommand

from events.partitions import Partition, partitions_list
from events.retention import events_prune, partitions_ensure, retention_horizon


def _describe(partition: Partition) -> str:
    span = (
        f"{partition.start:%Y-%m-%d} .. {partition.end:%Y-%m-%d}"
        if partition.start
        else "DEFAULT (times no month holds)"
    )
    rows = "not analyzed" if partition.rows_estimate < 0 else f"~{partition.rows_estimate:,} rows"
    return f"{partition.name:<32} {span:<30} {rows:>18} {partition.size_bytes / 1e6:>10.1f} MB"


class Command(BaseCommand):
    help = (
        "The monthly partitions of the events table. --list prints them with row estimates "
        "(planner statistics, no count); --ensure creates the months from the retention "
        "horizon to 3 months ahead; --prune drops months past EVENT_RETENTION_DAYS and "
        "prunes old rows of the DEFAULT partition, dedupe keys and webhook nonces. The hourly "
        "beat job does --ensure and --prune; running them by hand beside it is safe."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--list", action="store_true", help="print the partitions")
        parser.add_argument("--ensure", action="store_true", help="create missing months")
        parser.add_argument("--prune", action="store_true", help="apply retention")
        parser.add_argument(
            "--max-seconds", type=float, default=None, help="stop pruning after this long"
        )

    def handle(self, *args, **options):
        if options["ensure"]:
            ensured = partitions_ensure()
            self.stdout.write(f"Partitions created: {_names(ensured.created)}")
            self._busy(ensured.busy)
        if options["prune"]:
            self.stdout.write(f"Retention horizon: {retention_horizon():%Y-%m-%d %H:%M} UTC")
            pruned = events_prune(max_seconds=options["max_seconds"])
            self.stdout.write(
                f"Partitions dropped: {_names(pruned.dropped)}\n"
                f"Pruned {pruned.default_rows} events from the DEFAULT partition, "
                f"{pruned.keys} dedupe keys, {pruned.nonces} webhook nonces"
                + ("" if pruned.complete else " (stopped at --max-seconds; run again)")
            )
            self._busy(pruned.busy)
        if options["list"] or not (options["ensure"] or options["prune"]):
            for partition in partitions_list():
                self.stdout.write(_describe(partition))

    def _busy(self, names: list[str]) -> None:
        if names:
            self.stdout.write(
                self.style.WARNING(f"Busy (lock timeout), retried next run: {_names(names)}")
            )


def _names(names: list[str]) -> str:
    return ", ".join(names) if names else "none"
