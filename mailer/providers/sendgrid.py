"""SendGrid: one API key. anymail generates the message id (custom_args.anymail_id), which
SendGrid's events carry back."""

from mailer.providers.base import ProviderKind

kind = ProviderKind(
    slug="sendgrid",
    backend_path="anymail.backends.sendgrid.EmailBackend",
    credential_fields=("api_key", "api_url"),
    required=("api_key",),
)
