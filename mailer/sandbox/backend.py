"""SandboxEmailBackend: a Django email backend that behaves like an ESP's send API.

Options (keyword arguments, from the sandbox account's credentials; else the SANDBOX_* setting
of the same name in capitals; else the default):

- mode: "up" accepts every message; "down" refuses every one with an
  AnymailAPIError(status_code=503); "flaky" refuses `flaky_percent` % of them the same way.
- flaky_percent (default 10), latency_ms (default 50): how long each send takes.
- webhook_format: whose webhooks to post, an events.simulator FORMATS slug (default
  "mandrill"); webhook_url: where (default SITE_URL + "/api/hook/<format>/").
- events_delay_s (default 1.0): the scale of every message's timeline (mailer.sandbox.timeline);
  0.05 plays it in a couple of seconds.
- seed: seeds the timelines (always deterministic per message id), and makes the flaky
  failures (per connection) and the message ids reproducible: a seeded sandbox names a
  message after its seed, Message-ID and recipient (`provider_message_id`); else at random.

Reserved recipient domains:

- `@reject.invalid`: refused at once, as an ESP refuses a suppressed address (anymail status
  "rejected"); when every recipient is refused the send raises AnymailRecipientsRefused.
- `@bounce.invalid`: accepted, then hard-bounces (see mailer.sandbox.timeline).

An accepted message gets `message.anymail_status` as anymail sets it: one provider message id
per recipient (a bare id for one recipient) and status {"queued"}. Its events are posted later
by one Celery task per batch of messages (mailer.sandbox_tasks), scheduled when the connection
closes, or every FLUSH_EVERY messages on a long one.
"""

import json
import logging
import random
import time
import uuid
from email.utils import parseaddr

import requests
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from anymail.message import AnymailRecipientStatus, AnymailStatus
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.base import BaseEmailBackend

from events.simulator import FORMATS
from mailer.sandbox.timeline import DEFAULT_SEED, SentMessage
from mailer.sandbox_tasks import post_sandbox_events

logger = logging.getLogger(__name__)

MODES = ("up", "flaky", "down")
REJECTED_DOMAIN = "reject.invalid"
FLUSH_EVERY = 100
DEFAULTS = {
    "mode": "up",
    "flaky_percent": 10.0,
    "latency_ms": 50.0,
    "webhook_format": "mandrill",
    "webhook_url": "",
    "events_delay_s": 1.0,
    "seed": None,
}
METADATA_HEADER = "X-Mailpulse-Metadata"


def _option(name: str, value):
    if value not in (None, ""):
        return value
    return getattr(settings, f"SANDBOX_{name.upper()}", DEFAULTS[name])


class SandboxEmailBackend(BaseEmailBackend):
    esp_name = "Sandbox"

    def __init__(
        self,
        fail_silently: bool = False,
        *,
        mode: str | None = None,
        flaky_percent: float | None = None,
        latency_ms: float | None = None,
        webhook_format: str | None = None,
        webhook_url: str | None = None,
        events_delay_s: float | None = None,
        seed: object = None,
        **kwargs,
    ) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        try:
            self.mode = str(_option("mode", mode)).lower()
            self.flaky_percent = float(_option("flaky_percent", flaky_percent))
            self.latency_s = float(_option("latency_ms", latency_ms)) / 1000
            self.webhook_format = str(_option("webhook_format", webhook_format))
            self.events_delay_s = float(_option("events_delay_s", events_delay_s))
        except (TypeError, ValueError) as error:
            raise ImproperlyConfigured(f"sandbox: a number is not a number: {error}") from None
        if self.mode not in MODES:
            raise ImproperlyConfigured(f"sandbox: mode must be one of {', '.join(MODES)}")
        if not 0 <= self.flaky_percent <= 100 or self.latency_s < 0 or self.events_delay_s < 0:
            raise ImproperlyConfigured(
                "sandbox: flaky_percent must be 0 to 100, latency_ms and events_delay_s >= 0"
            )
        if self.webhook_format not in FORMATS:
            raise ImproperlyConfigured(
                f"sandbox: webhook_format must be one of {', '.join(sorted(FORMATS))}"
            )
        self.webhook_url = str(_option("webhook_url", webhook_url)) or (
            f"{settings.SITE_URL.rstrip('/')}/api/hook/{self.webhook_format}/"
        )
        seed = _option("seed", seed)
        self.seeded = seed is not None
        self.seed = DEFAULT_SEED if seed is None else str(seed)
        # Seeded: the same failures on each connection. S311: simulated data, not security.
        self._rng = random.Random(self.seed if self.seeded else None)  # noqa: S311
        self._opened = False
        self._pending: list[SentMessage] = []

    # --- connection

    def open(self) -> bool:
        if self._opened:
            return False
        self._opened = True
        return True

    def close(self) -> None:
        self._flush()
        self._opened = False

    def send_messages(self, email_messages) -> int:
        if not email_messages:
            return 0
        created = self.open()
        sent = 0
        try:
            for message in email_messages:
                try:
                    sent += self._send(message)
                except (AnymailAPIError, AnymailRecipientsRefused):
                    if not self.fail_silently:
                        raise
        finally:
            if created:
                self.close()
        return sent

    # --- one message

    def _send(self, message) -> int:
        if len(self._pending) >= FLUSH_EVERY:
            self._flush()  # before this send: the earlier ones are recorded as sent by now
        message.anymail_status = AnymailStatus()
        if self.latency_s:
            time.sleep(self.latency_s)
        recipients = [parseaddr(address)[1] for address in message.recipients()]
        if not recipients:
            return 0
        if self.mode == "down" or (
            self.mode == "flaky" and self._rng.random() * 100 < self.flaky_percent
        ):
            raise AnymailAPIError(
                f"Sandbox is {self.mode}: its send API answered 503",
                status_code=503,
                response=_unavailable(self.mode),
                email_message=message,
                backend=self,
            )
        statuses = {}
        accepted = []
        header_id = str(message.extra_headers.get("Message-ID") or "")
        for address in recipients:
            message_id = self._message_id(header_id, address)
            refused = address.lower().endswith("@" + REJECTED_DOMAIN)
            status = "rejected" if refused else "queued"
            statuses[address] = AnymailRecipientStatus(message_id, status)
            if not refused:
                accepted.append((address, message_id))
        message.anymail_status.set_recipient_status(statuses)
        if not accepted:
            raise AnymailRecipientsRefused(
                f"Sandbox refused every recipient (addresses at @{REJECTED_DOMAIN} are refused)",
                email_message=message,
                backend=self,
            )
        sent_at = time.time()
        sender = parseaddr(message.from_email or "")[1]
        metadata = _metadata(message)
        tags = tuple(str(tag) for tag in getattr(message, "tags", None) or ())
        for address, message_id in accepted:
            self._pending.append(
                SentMessage(
                    message_id=message_id,
                    recipient=address,
                    sender=sender,
                    subject=str(message.subject or ""),
                    sent_at=sent_at,
                    tags=tags,
                    metadata=metadata,
                )
            )
        return 1

    def _message_id(self, header_id: str, recipient: str) -> str:
        if self.seeded and header_id:
            return provider_message_id(self.seed, header_id, recipient)
        return uuid.UUID(int=self._rng.getrandbits(128), version=4).hex

    # --- the webhooks

    def job(self, messages: list[SentMessage]) -> dict:
        """The task's arguments for these messages (JSON)."""
        return {
            "format": self.webhook_format,
            "url": self.webhook_url,
            "seed": self.seed,
            "scale": self.events_delay_s,
            "messages": [message.as_json() for message in messages],
        }

    def _flush(self) -> None:
        """Schedule the webhooks of the messages accepted since the last flush. A broker that
        cannot take the task loses those webhooks, never the sends (they were accepted)."""
        if not self._pending:
            return
        messages, self._pending = self._pending, []
        first_due = min(message.sent_at for message in messages) + self.events_delay_s
        try:
            post_sandbox_events.apply_async(
                args=[self.job(messages)], countdown=max(0.0, first_due - time.time())
            )
        except Exception:  # the broker's errors vary by transport
            logger.exception("sandbox: cannot schedule the webhooks of %d messages", len(messages))


def provider_message_id(seed: str, header_id: str, recipient: str) -> str:
    """A seeded sandbox's message id: the same for the same Message-ID and recipient, so a
    test that knows them predicts the message's timeline."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox:{seed}:{header_id}:{recipient}").hex


def _unavailable(mode: str) -> requests.Response:
    """The API's answer when it is down, as the requests response anymail errors carry."""
    response = requests.Response()
    response.status_code = 503
    response.reason = "Service Unavailable"
    response.headers["Content-Type"] = "application/json"
    response._content = json.dumps(
        {"status": "error", "name": "ServiceUnavailable", "message": f"The sandbox is {mode}."}
    ).encode()
    return response


def _metadata(message) -> dict[str, str]:
    """anymail's `metadata` attribute, else the X-Mailpulse-Metadata header."""
    metadata = getattr(message, "metadata", None)
    if not metadata:
        try:
            metadata = json.loads(message.extra_headers.get(METADATA_HEADER) or "{}")
        except ValueError:
            metadata = {}
    if not isinstance(metadata, dict):
        return {}
    return {str(key): str(value) for key, value in metadata.items()}
