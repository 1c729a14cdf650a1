"""Sending campaign messages, each exactly once, whatever happens to the workers.

How a message is sent exactly once
----------------------------------
1. Claim. A worker takes a PostgreSQL session advisory lock on the message id, then
   `UPDATE ... SET status='sending', claimed_at=now WHERE id=... AND status IN ('queued',
   'sending')`. Only the worker whose UPDATE matched sends. The lock is held for the whole send,
   so a message found in 'sending' *and* lockable has lost its worker: PostgreSQL released the
   lock when that worker's connection died. Nobody has to guess with a timeout. Both steps are
   one statement for a group of messages (STATUS_CHECK_EVERY), so the per-message cost is the
   send and its 'sent' UPDATE (which also reads the campaign's status, for pause and cancel).
2. Send through mailer.delivery, then mark 'sent' in the very next statement; unlock the
   group once it is done.
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
from contextlib import suppress
from dataclasses import dataclass, field

from django.db import DatabaseError
from django.db import connection as db_connection
from django.db.models import Case, Exists, F, OuterRef, Value, When
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


# Lock what can be locked, claim what is still to send among those (an UPDATE re-checks a
# row a concurrent worker changed since this statement began), and say which was which.
_CLAIM_SQL = f"""
WITH locked AS MATERIALIZED (
    SELECT id FROM unnest(%s::bigint[]) AS t(id) WHERE pg_try_advisory_lock(id)
), claimed AS (
    UPDATE {Message._meta.db_table} AS m
    SET status = %s, claimed_at = %s, updated_at = %s, attempts = m.attempts + 1
    FROM locked WHERE m.id = locked.id AND m.status IN (%s, %s)
    RETURNING m.id, m.attempts
)
SELECT locked.id, claimed.attempts FROM locked LEFT JOIN claimed USING (id)
"""  # noqa: S608 (only the table name is formatted in)
_UNLOCK_SQL = "SELECT pg_advisory_unlock(id) FROM unnest(%s::bigint[]) AS t(id)"
# Marks a message sent and reads its campaign's status in the same round trip: a pause or
# cancel committed meanwhile stops the group before its next message.
_SENT_SQL = f"""
UPDATE {Message._meta.db_table} AS m
SET status = %s, sent_at = %s, updated_at = %s, provider = %s, provider_message_id = %s, error = ''
WHERE m.id = %s AND m.status = %s
RETURNING (SELECT c.status FROM {Campaign._meta.db_table} AS c WHERE c.id = m.campaign_id)
"""  # noqa: S608 (only table names are formatted in)


def _set(message_id: int, *, expected: list[str], **values) -> int:
    return Message.objects.filter(pk=message_id, status__in=expected).update(
        updated_at=timezone.now(), **values
    )


def messages_claim(*, message_ids: list[int]) -> dict[int, int]:
    """The messages of `message_ids` this worker now owns, with their attempt counts (see
    the module docstring); the caller must finish with messages_release."""
    if not message_ids:
        return {}
    now = timezone.now()
    status = Message.Status
    try:
        with db_connection.cursor() as cursor:
            cursor.execute(
                _CLAIM_SQL, [message_ids, status.SENDING, now, now, status.QUEUED, status.SENDING]
            )
            rows = cursor.fetchall()
    except DatabaseError:
        # Session locks outlive a failed statement: whatever it took is let go.
        with suppress(DatabaseError):
            messages_release(message_ids=message_ids)
        raise
    messages_release(message_ids=[pk for pk, attempts in rows if attempts is None])
    return {pk: attempts for pk, attempts in rows if attempts is not None}


def messages_release(*, message_ids: list[int]) -> None:
    if message_ids:
        with db_connection.cursor() as cursor:
            cursor.execute(_UNLOCK_SQL, [message_ids])


def _unclaim(message_ids: list[int], **values: str) -> None:
    """Claimed but not sent (nothing was tried, or the group stopped early): queued again, or
    cancelled if their campaign is cancelled by now (cancel itself only cancels what is
    queued), and the claim's attempt does not count."""
    cancelled = Campaign.objects.filter(
        pk=OuterRef("campaign_id"), status=Campaign.Status.CANCELLED
    )
    Message.objects.filter(pk__in=message_ids, status=Message.Status.SENDING).update(
        status=Case(
            When(Exists(cancelled), then=Value(Message.Status.CANCELLED)),
            default=Value(Message.Status.QUEUED),
        ),
        attempts=F("attempts") - 1,
        updated_at=timezone.now(),
        **values,
    )


def _mark_sent(message: Message, accepted) -> str | None:
    """Records the send; returns the campaign's status as of now."""
    now = timezone.now()
    with db_connection.cursor() as cursor:
        cursor.execute(
            _SENT_SQL,
            [
                Message.Status.SENT,
                now,
                now,
                accepted.provider,
                accepted.provider_message_id,
                message.pk,
                Message.Status.SENDING,
            ],
        )
        row = cursor.fetchone()
    return row[0] if row else None


@dataclass
class CampaignSender:
    """What every message of one campaign shares, prepared once per chunk."""

    campaign: Campaign
    templates: CampaignTemplates = field(init=False)
    from_email: str = field(init=False)
    # The campaign's status as last read (each send reads it): pause and cancel stop a group.
    campaign_status: str = field(init=False)

    def __post_init__(self) -> None:
        self.templates = CampaignTemplates(self.campaign)
        self.from_email = campaign_from_address(self.campaign)
        self.campaign_status = self.campaign.status

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
    """Nothing was tried (no provider could take it now)."""
    _unclaim([message.pk], error=error)
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
    """Send and record one message this worker has claimed (messages_claim, which set its
    `attempts`)."""
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
    sender.campaign_status = _mark_sent(message, accepted) or sender.campaign_status
    return Outcome.SENT


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


# Messages claimed together (one statement) and published as one progress step. Pause and
# cancel take effect before the next message: each 'sent' UPDATE reads the campaign's status.
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
    """Claim these messages together and send those claimed, in order (the others another
    worker has or had: SKIPPED), until the campaign is paused or cancelled (result.stopped);
    the id of the one that must be retried, if any."""
    messages = list(
        Message.objects.filter(pk__in=ids, status__in=UNFINISHED)
        .select_related("subscriber")
        .order_by("pk")
    )
    claimed = messages_claim(message_ids=[message.pk for message in messages])
    result.outcomes[Outcome.SKIPPED] += len(messages) - len(claimed)
    mine = [message for message in messages if message.pk in claimed]
    index = 0
    try:
        for index, message in enumerate(mine):
            if sender.campaign_status != Campaign.Status.SENDING:
                result.stopped = True
                _unclaim([later.pk for later in mine[index:]])
                return None
            message.attempts = claimed[message.pk]
            outcome = message_send(message=message, sender=sender, connection=connection)
            result.outcomes[outcome] += 1
            if outcome is Outcome.RETRY:
                _unclaim([later.pk for later in mine[index + 1 :]])
                return message.pk
    except BaseException:
        # The message being sent stays claimed ('sending', found by the stall check); the
        # rest of the group was never tried and goes back at once.
        with suppress(DatabaseError):
            _unclaim([later.pk for later in mine[index + 1 :]])
        raise
    finally:
        messages_release(message_ids=list(claimed))
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
            if start:
                sender.campaign_status = _campaign_status(campaign_id)
            if sender.campaign_status != Campaign.Status.SENDING:
                result.stopped = True
                break
            retry_from = _send_group(
                ids[start : start + STATUS_CHECK_EVERY], sender, connection, result
            )
            campaign_progress_publish(campaign_id=campaign_id)
            if result.stopped:
                break
            if retry_from is not None:
                result.retry_ids = [pk for pk in ids if pk >= retry_from]
                break
    messages_record_sent(message_ids=ids)
    campaign_finish_if_done(campaign_id=campaign_id)
    return result
