"""Mailjet: an API key and its secret key."""

from mailer.providers.base import ProviderKind

kind = ProviderKind(
    slug="mailjet",
    backend_path="anymail.backends.mailjet.EmailBackend",
    credential_fields=("api_key", "secret_key", "api_url"),
    required=("api_key", "secret_key"),
)
