"""Postmark: a server token, optionally a message stream (e.g. "broadcast" for campaigns)."""

from mailer.providers.base import ProviderKind

kind = ProviderKind(
    slug="postmark",
    backend_path="anymail.backends.postmark.EmailBackend",
    credential_fields=("server_token", "message_stream", "api_url"),
    required=("server_token",),
)
