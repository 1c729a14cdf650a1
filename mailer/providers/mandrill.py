"""Mandrill (Mailchimp Transactional): one API key."""

from mailer.providers.base import ProviderKind

kind = ProviderKind(
    slug="mandrill",
    backend_path="anymail.backends.mandrill.EmailBackend",
    credential_fields=("api_key", "api_url"),
    required=("api_key",),
)
