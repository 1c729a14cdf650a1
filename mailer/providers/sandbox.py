"""The sandbox: Mailpulse's own pretend provider (mailer.sandbox), up, flaky or down on demand,
posting webhooks in a chosen provider's format. Its credentials are its settings."""

from mailer.providers.base import ProviderKind

kind = ProviderKind(
    slug="sandbox",
    backend_path="mailer.sandbox.backend.SandboxEmailBackend",
    credential_fields=(
        "mode",
        "flaky_percent",
        "latency_ms",
        "webhook_format",
        "webhook_url",
        "events_delay_s",
        "seed",
    ),
    # Every stored field is one of the backend's settings, including ones added later.
    to_kwargs=dict,
    takes_timeout=False,
)
