"""The one way mail leaves Mailpulse: `email_deliver` sends one rendered message now.

With enabled provider accounts, `delivery_connection` yields the provider router
(mailer.providers.router: priority, failover, breakers, rate limits, quotas); without any, it
yields Django's configured email backend (EMAIL_URL), as before accounts existed. Errors are
classified before they reach callers, who only decide between "retry later" and "give up".
"""

import json
import smtplib
from collections.abc import Collection, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial

from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend

# The events provider slug for mail sent through Django's own backends (SMTP, console...).
DJANGO_BACKEND_PROVIDER = "smtp"
MESSAGE_ID_DOMAIN = "mailpulse"


class DeliveryError(Exception):
    """The message was not accepted. `permanent` errors will not succeed on a retry.
    `provider` is the kind that refused it or did not answer, when one provider was tried."""

    def __init__(self, reason: str, *, permanent: bool, provider: str = "") -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.provider = provider


class ProvidersUnavailable(DeliveryError):
    """No provider could take the message now (none was tried, or each failed over): it was
    not sent, so it waits for a later retry without using up one of its attempts."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, permanent=False)


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    html: str
    text: str
    from_email: str
    message_id: str
    reply_to: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # Comes back with the provider's events (anymail's `metadata`), to match them to messages.
    metadata: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Accepted:
    provider: str
    provider_message_id: str


def message_id_for(uid: object) -> str:
    """Our Message-ID: stable for a message, so a re-send is recognisably the same mail."""
    return f"<{uid}@{MESSAGE_ID_DOMAIN}>"


@contextmanager
def delivery_connection(*, exclude_accounts: Collection[int] = ()) -> Iterator[BaseEmailBackend]:
    """One connection reused for many messages (one SMTP session or API session per chunk):
    the provider router over the enabled accounts but `exclude_accounts`, or Django's
    configured backend when no account is enabled."""
    from mailer.providers.router import provider_router  # the router imports this module

    connection = provider_router(exclude_accounts=exclude_accounts) or get_connection(
        fail_silently=False
    )
    try:
        yield connection
    finally:
        with suppress(OSError, smtplib.SMTPException):
            connection.close()


def email_message(email: OutgoingEmail, connection: BaseEmailBackend) -> EmailMultiAlternatives:
    """The Django message for `email`, bound to `connection` (anymail reads its extras)."""
    headers = {
        **email.headers,
        "Message-ID": email.message_id,
        "X-Mailpulse-Metadata": json.dumps(email.metadata, sort_keys=True),
    }
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text,
        from_email=email.from_email,
        to=[email.to],
        reply_to=[email.reply_to] if email.reply_to else None,
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(email.html, "text/html")
    # django-anymail's attributes, ignored by Django's own backends.
    message.metadata = email.metadata
    message.tags = email.tags
    return message


def _classify(error: Exception) -> DeliveryError:
    failure = partial(DeliveryError, provider=DJANGO_BACKEND_PROVIDER)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return failure(f"recipient refused: {error.recipients}", permanent=min(codes) >= 500)
    if isinstance(error, smtplib.SMTPResponseException):
        return failure(f"{error.smtp_code} {error.smtp_error!r}", permanent=error.smtp_code >= 500)
    return failure(f"{type(error).__name__}: {error}", permanent=False)


def email_deliver(email: OutgoingEmail, *, connection: BaseEmailBackend) -> Accepted:
    """Send one message; returns what the provider accepted, raises DeliveryError if not."""
    from mailer.providers.router import ProviderRouter

    if isinstance(connection, ProviderRouter):
        return connection.deliver(email)
    message = email_message(email, connection)
    try:
        connection.open()  # no-op when open; else the backend would close it after this send
        sent = message.send()
    except (OSError, smtplib.SMTPException) as error:
        raise _classify(error) from error
    if sent != 1:
        raise DeliveryError(
            "the backend did not accept the message",
            permanent=False,
            provider=DJANGO_BACKEND_PROVIDER,
        )
    status = getattr(message, "anymail_status", None)
    provider_id = getattr(status, "message_id", None) if status else None
    return Accepted(
        provider=DJANGO_BACKEND_PROVIDER,
        provider_message_id=str(provider_id or email.message_id.strip("<>")),
    )
