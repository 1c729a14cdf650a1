"""Re-encrypt every provider account's credentials with the first PROVIDER_CREDENTIALS_KEYS
key. Rotation (mailer/crypto.py): put the new key first, keep the old ones after it, run this,
then drop the old keys."""

from django.core.management.base import BaseCommand

from mailer.services.providers import provider_credentials_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every provider account's credentials with the first key of "
        "PROVIDER_CREDENTIALS_KEYS (run after putting a new key first; then drop the old ones)."
    )

    def handle(self, *args, **options):
        count = provider_credentials_rotate()
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted the credentials of {count} provider account"
                f"{'' if count == 1 else 's'} with the first key."
            )
        )
