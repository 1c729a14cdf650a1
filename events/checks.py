"""`manage.py check` warns about webhooks that anyone on the web could post to."""

from django.core import checks

from events.providers import ADAPTERS


def open_webhook_providers() -> list[str]:
    """Providers whose webhook is accepted without any secret configured."""
    return [slug for slug, adapter in ADAPTERS.items() if not adapter().secret_configured()]


@checks.register(checks.Tags.security)
def check_webhook_secrets(app_configs=None, **kwargs):
    open_providers = open_webhook_providers()
    if not open_providers:
        return []
    return [
        checks.Warning(
            f"Webhooks for {', '.join(open_providers)} are accepted without verification.",
            hint="Set WEBHOOK_SECRET and the providers' signing keys (see .env.example).",
            id="events.W001",
        )
    ]


@checks.register(checks.Tags.security)
def check_webhook_keys_load(app_configs=None, **kwargs):
    """A configured key that cannot be loaded (e.g. a malformed SendGrid public key) would
    fail every webhook of that provider: say so at startup instead."""
    errors = []
    for slug, adapter_class in ADAPTERS.items():
        adapter = adapter_class()
        if not adapter.secret_configured():
            continue
        try:
            for secret in adapter.signing_secrets() or [None]:
                adapter.view(secret)
        except Exception as error:
            errors.append(
                checks.Error(
                    f"The {slug} webhook key cannot be loaded: {error}",
                    hint="Check the provider's key setting in the environment.",
                    id="events.E001",
                )
            )
    return errors
