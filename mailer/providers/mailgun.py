"""Mailgun: an API key and the sending domain; api_url for the EU region
(https://api.eu.mailgun.net/v3)."""

from mailer.providers.base import ProviderKind

kind = ProviderKind(
    slug="mailgun",
    backend_path="anymail.backends.mailgun.EmailBackend",
    credential_fields=("api_key", "sender_domain", "api_url"),
    required=("api_key",),
)
