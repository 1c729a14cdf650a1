"""Choosing the provider for each message, and failing over.

Each message goes to the enabled account of highest priority (lowest number) that is healthy
and has rate and quota left (mailer.providers.state). What a failed send means decides the
next step (mailer.providers.base.Verdict):

- the message's own fault (refused or invalid recipient, content, other 4xx): the message
  fails with the reason; another provider would refuse it too.
- authentication or configuration (401, 403, 404, anymail configuration, SMTP auth): the
  provider is marked misconfigured; the message fails over to the next one.
- 429 or the daily quota used up: the provider is throttled until its window resets; fail over.
- an outage the provider told us about or that stopped us connecting (5xx, refused
  connection, connect timeout): counts towards its breaker; fail over.

Failing over never sends a message twice: it only happens when the provider answered with an
error or could not be reached, so it did not take the message. A timeout or a lost connection
*after* the request went out is ambiguous (the provider may have taken it): it counts towards
the breaker, but the message is not sent elsewhere now. It goes back to the queue and is sent
again later with the SAME Message-ID, the window described in mailer.services.messages; with an
ESP the second copy also gets a second provider message id, so its events are matched by our
metadata (message_uid), which every copy carries. That later attempt tries the other accounts
first (state.unanswered_note remembers which account left this message unanswered): a provider
that hangs holds each message for one timeout, not until its breaker opens, and the message
goes back to it only when no other account can take it.

When no provider can take a message (all misconfigured, open, throttled or out of quota), the
router raises ProvidersUnavailable: the message is queued again and its chunk retried later.
When the only thing missing is this second's rate, the router waits for the next second.
"""

import logging
import time
from collections.abc import Collection
from contextlib import suppress
from typing import NoReturn

from django.core.mail.backends.base import BaseEmailBackend
from redis.exceptions import RedisError

from mailer.delivery import Accepted, DeliveryError, OutgoingEmail, ProvidersUnavailable
from mailer.delivery import email_message as build_email_message
from mailer.models import ProviderAccount
from mailer.providers import kind_for, state
from mailer.providers.base import Failure, Verdict, classify

logger = logging.getLogger(__name__)

# How long a send waits for the next second when every provider used up this second's rate.
RATE_WAIT_MAX_S = 5.0


class _FailOver(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def enabled_accounts() -> list[ProviderAccount]:
    return list(ProviderAccount.objects.filter(enabled=True).order_by("priority", "pk"))


class ProviderRouter(BaseEmailBackend):
    """One chunk's way out through the enabled accounts; one backend (API session, SMTP
    connection) per account, opened on first use and reused for the chunk's messages."""

    def __init__(self, accounts: list[ProviderAccount], **kwargs) -> None:
        super().__init__(fail_silently=False, **kwargs)
        self.accounts = accounts
        self._backends: dict[int, BaseEmailBackend] = {}

    def close(self) -> None:
        for account_id in list(self._backends):
            self._discard(account_id)

    def send_messages(self, email_messages) -> int:
        raise NotImplementedError("send through mailer.delivery.email_deliver")

    def deliver(self, email: OutgoingEmail) -> Accepted:
        """Send through the first provider that takes the message; raises DeliveryError
        (permanent for the message's own fault) or ProvidersUnavailable."""
        deadline = time.monotonic() + RATE_WAIT_MAX_S
        accounts = self._in_order_for(email)
        while True:
            reasons, rate_limited = [], False
            for account in accounts:
                entry, taken = self._admit(account)
                if not entry.allowed:
                    reasons.append(f"{account.name}: {entry.reason}")
                    continue
                if taken < 0:
                    rate_limited |= taken == state.RATE_USED_UP
                    reasons.append(f"{account.name}: no rate or quota left")
                    if entry.probe:
                        state.release_probe(account)
                    continue
                try:
                    return self._send(account, email, probe=entry.probe)
                except _FailOver as failover:
                    reasons.append(f"{account.name}: {failover.reason}")
            if not rate_limited or time.monotonic() >= deadline:
                raise ProvidersUnavailable("no provider available: " + "; ".join(reasons))
            time.sleep(1.0 - time.time() % 1.0 + 0.001)

    def _in_order_for(self, email: OutgoingEmail) -> list[ProviderAccount]:
        """Priority order, but the accounts that left this message unanswered come last."""
        if len(self.accounts) < 2:
            return self.accounts
        try:
            unanswered = state.unanswered_accounts(self.accounts, email.message_id)
        except RedisError:
            return self.accounts  # then _admit finds Redis down and nothing is sent
        return sorted(self.accounts, key=lambda account: account.pk in unanswered)

    @staticmethod
    def _admit(account: ProviderAccount) -> tuple[state.Gate, int]:
        """Whether the account may send now, and its reserved slot; without Redis nothing is
        known about limits and breakers, so nothing is sent (the message waits)."""
        try:
            entry = state.gate(account)
            return entry, (state.reserve(account) if entry.allowed else 0)
        except RedisError as error:
            raise ProvidersUnavailable(f"provider state unavailable: {error}") from error

    @staticmethod
    def _note(record, *args, **kwargs) -> None:
        """Record what a send told about the provider. Best effort: once a provider took a
        message, nothing may stop it from being marked sent."""
        try:
            record(*args, **kwargs)
        except RedisError:
            logger.warning("provider state not recorded", exc_info=True)

    def _backend(self, account: ProviderAccount) -> BaseEmailBackend:
        if account.pk not in self._backends:
            self._backends[account.pk] = kind_for(account.kind).backend(account.credentials)
        return self._backends[account.pk]

    def _discard(self, account_id: int) -> None:
        backend = self._backends.pop(account_id, None)
        if backend is not None:
            with suppress(Exception):
                backend.close()

    def _send(self, account: ProviderAccount, email: OutgoingEmail, *, probe: bool) -> Accepted:
        sending = False
        started = time.monotonic()
        try:
            backend = self._backend(account)
            message = build_email_message(email, backend)
            backend.open()  # connects now, so a refusal here is known not to have sent
            sending = True
            if message.send() != 1:
                raise DeliveryError(
                    "the backend did not take the message", permanent=False, provider=account.kind
                )
        except DeliveryError:
            self._note(state.release, account)
            raise
        except Exception as error:
            failure = classify(error, sending=sending)
            if failure.verdict is Verdict.AMBIGUOUS:
                self._note(state.unanswered_note, account, email.message_id)
            self._failed(account, failure, probe=probe, error=error)
        self._note(state.record_success, account, (time.monotonic() - started) * 1000)
        status = getattr(message, "anymail_status", None)
        provider_id = getattr(status, "message_id", None) if status else None
        # Stored as events store message ids: without angle brackets (Mailgun's have them).
        return Accepted(
            provider=account.kind,
            provider_message_id=str(provider_id or email.message_id).strip("<>"),
        )

    def _failed(self, account, failure: Failure, *, probe: bool, error: Exception) -> NoReturn:
        logger.warning(
            "provider send failed",
            extra={"account": account.pk, "verdict": failure.verdict.value, "why": failure.reason},
        )
        if failure.verdict is not Verdict.AMBIGUOUS:
            self._note(state.release, account)
        if failure.verdict in (Verdict.OUTAGE, Verdict.AMBIGUOUS, Verdict.MISCONFIGURED):
            self._discard(account.pk)  # a broken session would fail the next message too
        self._note(state.record_failure, account, failure, probe=probe)
        if failure.fails_over:
            raise _FailOver(failure.reason) from error
        raise DeliveryError(
            f"{account.name}: {failure.reason}",
            permanent=failure.verdict is Verdict.REJECTED,
            provider=account.kind,
        ) from error


def provider_router(*, exclude_accounts: Collection[int] = ()) -> ProviderRouter | None:
    """A router over the enabled accounts but `exclude_accounts`, or None when none is enabled
    (then Django's configured backend, EMAIL_URL, sends). Excluding every enabled account
    leaves a router that sends nothing (ProvidersUnavailable), never Django's backend."""
    accounts = enabled_accounts()
    if not accounts:
        return None
    return ProviderRouter([account for account in accounts if account.pk not in exclude_accounts])


def quota_left_total() -> int | None:
    """Messages the enabled, usable accounts may still send today; None when one of them
    (or Django's own backend, with no account) has no daily quota."""
    accounts = enabled_accounts()
    if not accounts:
        return None
    total = 0
    for entry in state.provider_states(accounts).values():
        if entry["status"] == state.MISCONFIGURED:
            continue
        if entry["quota_left"] is None:
            return None
        total += entry["quota_left"]
    return total
