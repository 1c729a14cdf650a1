import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from events.simulator import FORMATS
from events.simulator.base import ProviderFormat
from events.simulator.runner import Progress, SimulationError, simulate
from events.simulator.traffic import DEFAULT_MIX, Traffic, parse_mix

DEFAULT_COUNT = 200
DEFAULT_BATCH = 10
PROGRESS_EVERY_S = 5.0


class Command(BaseCommand):
    help = (
        "Post realistic, signed provider webhooks to a running server through /api/hook/, "
        "at a steady rate, until --count events are posted or --duration has passed."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url", help="Webhook URL (default: http://127.0.0.1:8000/api/hook/<provider>/)"
        )
        parser.add_argument("--provider", choices=sorted(FORMATS), default="mandrill")
        parser.add_argument("--rate", type=float, default=20.0, help="Events per second")
        parser.add_argument(
            "--batch",
            type=int,
            help=f"Events per request (default {DEFAULT_BATCH}) for providers that post several",
        )
        stop = parser.add_mutually_exclusive_group()
        stop.add_argument("--count", type=int, help=f"Events to post (default {DEFAULT_COUNT})")
        stop.add_argument("--duration", type=float, help="Seconds to run")
        parser.add_argument(
            "--mix", default=DEFAULT_MIX, help=f"Weights by type (default {DEFAULT_MIX})"
        )
        parser.add_argument("--campaign", type=int, help="Campaign id put in the metadata")

    def handle(self, *args, **options) -> None:
        provider = FORMATS[options["provider"]]()
        url = options["url"] or f"http://127.0.0.1:8000/api/hook/{provider.slug}/"
        batch = DEFAULT_BATCH if options["batch"] is None else options["batch"]
        if options["rate"] <= 0 or batch < 1:
            raise CommandError("--rate must be above 0 and --batch at least 1.")
        if provider.one_event_per_post and batch > 1 and options["batch"] is not None:
            self.stdout.write(f"{provider.slug} posts one event per request: --batch is unused.")
        mix = self.mix_for(provider, options["mix"])
        count = options["count"]
        if count is None and options["duration"] is None:
            count = DEFAULT_COUNT
        self.last_report = time.monotonic()
        try:
            with provider:
                progress = simulate(
                    url=url,
                    provider=provider,
                    traffic=Traffic(mix, campaign_id=options["campaign"]),
                    rate=options["rate"],
                    batch=batch,
                    count=count,
                    duration_s=options["duration"],
                    on_progress=self.report,
                )
        except SimulationError as error:
            raise CommandError(f"{error} {provider.hint(error.status)}".rstrip()) from None
        self.stdout.write(self.style.SUCCESS(f"Done: {self.summary(progress)} to {url}."))

    def mix_for(self, provider: ProviderFormat, text: str) -> dict[str, float]:
        """The --mix weights, without the types the provider has no webhook event for."""
        try:
            mix = parse_mix(text)
        except ValueError as error:
            raise CommandError(f"--mix: {error}") from None
        left_out = sorted(t for t, weight in mix.items() if weight and t in provider.unreported)
        if left_out:
            self.stdout.write(
                f"{provider.slug} has no webhook event for {', '.join(left_out)}: "
                "left out of the mix."
            )
        mix = {t: weight for t, weight in mix.items() if t not in provider.unreported}
        if not any(mix.values()):
            raise CommandError(f"--mix: {provider.slug} reports none of these types.")
        return mix

    def report(self, progress: Progress) -> None:
        if time.monotonic() - self.last_report >= PROGRESS_EVERY_S:
            self.last_report = time.monotonic()
            self.stdout.write(self.summary(progress))

    @staticmethod
    def summary(progress: Progress) -> str:
        return (
            f"{progress.posted} events posted in {progress.requests} requests, "
            f"{progress.stored} stored, {progress.duplicates} duplicates"
        )
