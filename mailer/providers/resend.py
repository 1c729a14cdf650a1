"""Resend: one API key."""

from mailer.providers.base import ProviderKind

kind = ProviderKind(
    slug="resend",
    backend_path="anymail.backends.resend.EmailBackend",
    credential_fields=("api_key", "api_url"),
    required=("api_key",),
)
