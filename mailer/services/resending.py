"""Second tries at a campaign, for operators: retry the messages whose sending failed, and
re-send through the other providers what one provider never accepted.

Both move only messages that no provider accepted (no `sent_at`, no provider message id) back
to the queue, in one transaction with the campaign row locked, and hand exactly those to the
normal send path (chunk tasks; mailer.services.messages claims each message under an advisory
lock). Running either twice, or while workers are sending, therefore sends no one twice: a
message already queued again, being sent or sent is not matched, and a message in two chunks
is sent by whichever claims it first. Messages a provider accepted are never sent again, even
when it later reported them failed, rejected, bounced or complained; nor are addresses
suppressed or subscribers unsubscribed since.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from mailer.models import Campaign, Message, ProviderAccount, Subscriber
from mailer.selectors.audience import suppressed
from mailer.selectors.messages import UNFINISHED
from mailer.services.campaigns import CampaignConflict
from mailer.services.sending import campaign_progress_publish, chunks_enqueue

# Campaigns whose messages may go out again; a paused one sends them when resumed.
RETRYABLE_STATUSES = (Campaign.Status.SENDING, Campaign.Status.PAUSED, Campaign.Status.SENT)
# A re-send's chunks avoid a provider; resuming a paused campaign would enqueue them without.
RESENDABLE_STATUSES = (Campaign.Status.SENDING, Campaign.Status.SENT)


@dataclass
class Requeued:
    campaign: Campaign
    message_ids: list[int]
    # Provider accounts the re-queued messages are not sent through.
    exclude_accounts: list[int] = field(default_factory=list)


def _never_accepted(campaign: Campaign) -> QuerySet[Message]:
    """The campaign's messages no provider took, to people who may still be written to."""
    return (
        Message.objects.filter(campaign=campaign, sent_at__isnull=True, provider_message_id="")
        .filter(subscriber__status=Subscriber.Status.ACTIVE, subscriber__is_active=True)
        .exclude(suppressed())
    )


def _reopen(campaign_id: int) -> None:
    """A sent campaign with messages to send is sending again (it finishes as usual)."""
    unfinished = Message.objects.filter(campaign_id=OuterRef("pk"), status__in=UNFINISHED)
    Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENT).filter(
        Exists(unfinished)
    ).update(status=Campaign.Status.SENDING, finished_at=None, updated_at=timezone.now())


def _send_requeued(campaign_id: int, message_ids: list[int], exclude_accounts: list[int]) -> None:
    # Again after commit: a worker may have finished the campaign while we re-queued (its
    # check ran on a snapshot from before our commit).
    _reopen(campaign_id)
    status = Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first()
    if status == Campaign.Status.SENDING:
        chunks_enqueue(
            campaign_id=campaign_id, message_ids=message_ids, exclude_accounts=exclude_accounts
        )
    campaign_progress_publish(campaign_id=campaign_id, force=True)


def _requeue(
    campaign: Campaign,
    messages: QuerySet[Message],
    *,
    statuses: tuple[str, ...],
    exclude_accounts: Sequence[int] = (),
) -> Requeued:
    """Back to the queue, untried (no attempts, no provider: a second run matches nothing),
    and a sent campaign sending again; on commit, chunk tasks for exactly these messages."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status not in statuses:
            raise CampaignConflict(
                f"A {campaign.status} campaign cannot send messages again; only "
                f"{', '.join(statuses)} campaigns can."
            )
        # FOR UPDATE re-checks each row after a concurrent change (a worker's claim).
        ids = list(
            messages.filter(campaign=campaign)
            .select_for_update(of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if ids:
            Message.objects.filter(pk__in=ids).update(
                status=Message.Status.QUEUED, attempts=0, provider="", updated_at=timezone.now()
            )
            _reopen(campaign.pk)
            transaction.on_commit(partial(_send_requeued, campaign.pk, ids, list(exclude_accounts)))
        campaign.refresh_from_db()
    return Requeued(campaign=campaign, message_ids=ids, exclude_accounts=list(exclude_accounts))


def campaign_retry_failed(*, campaign: Campaign) -> Requeued:
    """Queue again the campaign's failed messages that no provider accepted: transient errors
    that used up their attempts, a template error since fixed, a refusal at send time (a
    recipient refused again just fails again). Attempts start afresh."""
    failed = _never_accepted(campaign).filter(status=Message.Status.FAILED)
    return _requeue(campaign, failed, statuses=RETRYABLE_STATUSES)


def _provider_accounts(provider: str) -> tuple[str, list[int]]:
    """The kind and account ids `provider` names: an account id, or a kind (all its accounts)."""
    if provider.isdigit():
        account = ProviderAccount.objects.filter(pk=int(provider)).first()
        if account is None:
            raise ValidationError(f"No provider account has the id {provider}.")
        return account.kind, [account.pk]
    if provider not in ProviderAccount.Kind.values:
        kinds = ", ".join(ProviderAccount.Kind.values)
        raise ValidationError(f"{provider!r} is neither an account id nor a kind ({kinds}).")
    accounts = ProviderAccount.objects.filter(kind=provider).values_list("pk", flat=True)
    return provider, list(accounts)


def campaign_resend_unaccepted(*, campaign: Campaign, provider: str) -> Requeued:
    """Re-send, through the other enabled provider accounts, the campaign's messages that
    `provider` (an account id or a kind) was given and never accepted: failed, or queued for
    another try after it refused or did not answer. A message is matched by the kind of the
    provider that last tried it. Refused for a paused campaign (resume it first: the exclusion
    belongs to these chunk tasks) and when no other account is enabled."""
    kind, accounts = _provider_accounts(provider)
    others = ProviderAccount.objects.filter(enabled=True).exclude(pk__in=accounts)
    if not others.exists():
        raise CampaignConflict(f"No enabled provider account other than {provider} to send by.")
    unaccepted = _never_accepted(campaign).filter(
        provider=kind, status__in=(Message.Status.FAILED, Message.Status.QUEUED)
    )
    return _requeue(campaign, unaccepted, statuses=RESENDABLE_STATUSES, exclude_accounts=accounts)
