"""Brevo (formerly Sendinblue): one API key."""

from mailer.providers.base import ProviderKind

kind = ProviderKind(
    slug="brevo",
    backend_path="anymail.backends.brevo.EmailBackend",
    credential_fields=("api_key", "api_url"),
    required=("api_key",),
)
