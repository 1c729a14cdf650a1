from django.core.management.base import BaseCommand

from events.services import live_view_rebuild


class Command(BaseCommand):
    help = "Rebuild the Redis live view (counters and recent events) from PostgreSQL."
    requires_system_checks: list[str] = []

    def handle(self, *args, **options):
        loaded = live_view_rebuild()
        self.stdout.write(self.style.SUCCESS(f"Live view rebuilt; {loaded} recent events loaded."))
