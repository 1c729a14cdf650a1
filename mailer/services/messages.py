"""Sending campaign messages, each exactly once, whatever happens to the workers.

How a message is sent exactly once
----------------------------------
1. Claim. A worker takes a PostgreSQL session advisory lock on the message id, then
   `UPDATE ... SET status='sending', claimed_at=now WHERE id=... AND status IN ('queued',
   'sending')`. Only the worker whose UPDATE matched sends. The lock is held for the whole send,
   so a message found in 'sending' *and* lockable has lost its worker: PostgreSQL released the
   lock when that worker's connection died. Nobody has to guess with a timeout.
2. Send through mailer.delivery, then mark 'sent' in the very next statement, then unlock.
3. Chunk tasks run with acks_late + reject_on_worker_lost: a killed worker's chunk is
   delivered again; messages already sent are skipped (their claim no longer matches).

The remaining window: a worker that dies after the server accepted a message but before the
'sent' UPDATE (one round trip to PostgreSQL) leaves the message in 'sending'; it is sent again.
No sender can know whether an SMTP server kept a message whose reply it never read, so the
re-send carries the SAME Message-ID (`<uid@mailpulse>`), which receiving systems and providers
use to drop duplicates. A worker cut off from PostgreSQL without dying keeps its lock until
PostgreSQL drops the connection (TCP keepalive); until then its message is left alone and the
stall check in mailer.services.sending re-enqueues it later. Connection poolers in transaction
mode (pgbouncer) would break session locks: send through a direct or session-pooled connection.

Provider failover (mailer.providers.router) keeps this promise: a message goes to the next
provider only after the previous one answered with an error or could not be reached, so it did
not take it. A timeout after the request went out is the same window as above: the message is
queued again and re-sent later, maybe through another provider, with the same Message-ID and
metadata (message_uid). When no provider can take a message now, it is queued again without
using up an attempt, and the chunk retries later.
"""

import enum
import logging
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

from django.db import connection as db_connection
from django.db.models import F
from django.template import TemplateSyntaxError
from django.utils import timezone

from events.normalized import NormalizedEvent
from events.services import events_ingest
from mailer.delivery import (
    DeliveryError,
    OutgoingEmail,
    ProvidersUnavailable,
    delivery_connection,
    email_deliver,
    message_id_for,
)
from mailer.models import Campaign, Message
from mailer.rendering import CampaignTemplates, merge_context
from mailer.selectors.messages import UNFINISHED
from mailer.services.campaigns import campaign_from_address
from mailer.services.sending import campaign_finish_if_done, campaign_progress_publish
from mailer.unsubscribe import list_unsubscribe_headers, unsubscribe_url

logger = logging.getLogger(__name__)

# A transient failure puts the message back in the queue until it has been tried this often.
SEND_MAX_ATTEMPTS = 5


class Outcome(enum.Enum):
    SENT = "sent"
    FAILED = "failed"
    RETRY = "retry"
    SKIPPED = "skipped"


def _lock(message_id: int) -> bool:
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [message_id])
        return cursor.fetchone()[0]


def _unlock(message_id: int) -> None:
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [message_id])


def _set(message_id: int, *, expected: list[str], **values) -> int:
    return Message.objects.filter(pk=message_id, status__in=expected).update(
        updated_at=timezone.now(), **values
    )


def message_claim(*, message_id: int) -> bool:
    """Whether this worker now owns the message (see the module docstring); if so the caller
    must finish with message_release."""
    if not _lock(message_id):
        return False
    now = timezone.now()
    claimed = _set(
        message_id,
        expected=[Message.Status.QUEUED, Message.Status.SENDING],
        status=Message.Status.SENDING,
        claimed_at=now,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        _unlock(message_id)
    return bool(claimed)


def message_release(*, message_id: int) -> None:
    _unlock(message_id)


@dataclass
class CampaignSender:
    """What every message of one campaign shares, prepared once per chunk."""

    campaign: Campaign
    templates: CampaignTemplates = field(init=False)
    from_email: str = field(init=False)

    def __post_init__(self) -> None:
        self.templates = CampaignTemplates(self.campaign)
        self.from_email = campaign_from_address(self.campaign)

    def outgoing(self, message: Message) -> OutgoingEmail:
        context = merge_context(
            subscriber=message.subscriber, unsubscribe_url=unsubscribe_url(message)
        )
        # The address frozen when sending started is the one written to.
        context["email"] = message.email
        rendered = self.templates.render(context)
        return OutgoingEmail(
            to=message.email,
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            from_email=self.from_email,
            reply_to=self.campaign.reply_to,
            message_id=message_id_for(message.uid),
            headers=list_unsubscribe_headers(message),
            metadata={"campaign_id": str(self.campaign.pk), "message_uid": str(message.uid)},
            tags=[f"campaign-{self.campaign.pk}"],
        )


def _not_sent(message: Message, error: str) -> Outcome:
    """Nothing was tried: back to the queue, and the claim's attempt does not count."""
    _set(
        message.pk,
        expected=[Message.Status.SENDING],
        status=Message.Status.QUEUED,
        error=error,
        attempts=F("attempts") - 1,
    )
    return Outcome.RETRY


def _failed(message: Message, error: str, *, retry: bool, provider: str = "") -> Outcome:
    """`provider`: the kind that refused or did not answer; kept on the message (without a
    provider message id) so an operator can re-send what that provider never took."""
    status = Message.Status.FAILED
    if retry and message.attempts < SEND_MAX_ATTEMPTS:
        status = Message.Status.QUEUED
    _set(
        message.pk, expected=[Message.Status.SENDING], status=status, error=error, provider=provider
    )
    return Outcome.RETRY if status == Message.Status.QUEUED else Outcome.FAILED


def message_send(*, message: Message, sender: CampaignSender, connection) -> Outcome:
    """Claim, send and record one message; SKIPPED when another worker has it or had it."""
    if not message_claim(message_id=message.pk):
        return Outcome.SKIPPED
    try:
        message.refresh_from_db(fields=["attempts"])
        try:
            email = sender.outgoing(message)
        except TemplateSyntaxError as error:
            return _failed(message, f"rendering: {error}", retry=False)
        try:
            accepted = email_deliver(email, connection=connection)
        except ProvidersUnavailable as error:
            return _not_sent(message, str(error))
        except DeliveryError as error:
            if not error.permanent:
                connection.close()  # a broken session would fail every next message
            return _failed(message, str(error), retry=not error.permanent, provider=error.provider)
        _set(
            message.pk,
            expected=[Message.Status.SENDING],
            status=Message.Status.SENT,
            sent_at=timezone.now(),
            provider=accepted.provider,
            provider_message_id=accepted.provider_message_id,
            error="",
        )
        return Outcome.SENT
    finally:
        message_release(message_id=message.pk)


def messages_record_sent(*, message_ids: list[int]) -> int:
    """Store a "sent" event for each of these messages that was sent, one ingest per provider.
    Idempotent (the event id is the message uid), so a redelivered chunk may record again."""
    sent = Message.objects.filter(pk__in=message_ids, sent_at__isnull=False).only(
        "uid", "email", "campaign_id", "provider", "provider_message_id", "sent_at"
    )
    by_provider: dict[str, list[NormalizedEvent]] = defaultdict(list)
    for message in sent:
        metadata = {"campaign_id": str(message.campaign_id), "message_uid": str(message.uid)}
        by_provider[message.provider].append(
            NormalizedEvent.build(
                type="sent",
                provider_event="sent",
                recipient=message.email,
                message_id=message.provider_message_id,
                provider_event_id=f"sent-{message.uid}",
                timestamp=message.sent_at,
                metadata=metadata,
                raw={**metadata, "source": "mailpulse sender"},
            )
        )
    stored = 0
    for provider, events in by_provider.items():
        stored += len(events_ingest(provider=provider, events=events).stored)
    return stored


# Messages sent between two looks at the campaign's status (pause and cancel take effect there).
STATUS_CHECK_EVERY = 10


@dataclass
class ChunkResult:
    outcomes: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    # Messages to try again later, after a transient failure (the first one failed).
    retry_ids: list[int] = field(default_factory=list)
    # The campaign was paused, cancelled or deleted.
    stopped: bool = False


def _campaign_status(campaign_id: int) -> str | None:
    return Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first()


def _send_group(
    ids: list[int], sender: CampaignSender, connection, result: ChunkResult
) -> int | None:
    """Send these messages in order; the id of the one that must be retried, if any."""
    messages = (
        Message.objects.filter(pk__in=ids, status__in=UNFINISHED)
        .select_related("subscriber")
        .order_by("pk")
    )
    for message in messages:
        outcome = message_send(message=message, sender=sender, connection=connection)
        result.outcomes[outcome] += 1
        if outcome is Outcome.RETRY:
            return message.pk
    return None


def chunk_send(
    *, campaign_id: int, message_ids: list[int], exclude_accounts: Collection[int] = ()
) -> ChunkResult:
    """Send one chunk's messages in id order over one backend connection (through the enabled
    provider accounts but `exclude_accounts`), then record their "sent" events in one ingest
    and finish the campaign if this was the last work."""
    result = ChunkResult()
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.status != Campaign.Status.SENDING:
        result.stopped = True
        return result
    sender = CampaignSender(campaign)
    ids = sorted(message_ids)
    with delivery_connection(exclude_accounts=exclude_accounts) as connection:
        for start in range(0, len(ids), STATUS_CHECK_EVERY):
            if start and _campaign_status(campaign_id) != Campaign.Status.SENDING:
                result.stopped = True
                break
            retry_from = _send_group(
                ids[start : start + STATUS_CHECK_EVERY], sender, connection, result
            )
            campaign_progress_publish(campaign_id=campaign_id)
            if retry_from is not None:
                result.retry_ids = [pk for pk in ids if pk >= retry_from]
                break
    messages_record_sent(message_ids=ids)
    campaign_finish_if_done(campaign_id=campaign_id)
    return result
