"""Any SMTP server, through Django's SMTP backend: host, port, login, and TLS or SSL."""

from mailer.providers.base import ProviderKind

_TRUE = {"1", "true", "yes", "on"}


def _flag(value) -> bool:
    return value is True or str(value).strip().lower() in _TRUE


def _to_kwargs(credentials: dict) -> dict:
    kwargs = {
        "host": credentials["host"],
        "port": int(credentials.get("port") or 587),
        "username": credentials.get("username", ""),
        "password": credentials.get("password", ""),
        "use_tls": _flag(credentials.get("use_tls", False)),
        "use_ssl": _flag(credentials.get("use_ssl", False)),
    }
    return kwargs


kind = ProviderKind(
    slug="smtp",
    backend_path="django.core.mail.backends.smtp.EmailBackend",
    credential_fields=("host", "port", "username", "password", "use_tls", "use_ssl"),
    required=("host",),
    to_kwargs=_to_kwargs,
)
