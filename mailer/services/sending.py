"""A campaign's send: start (freeze recipients, one Message each), pause, resume, cancel,
finish, scheduled starts and recovery of stalled sends. Messages themselves are sent by
mailer.services.messages in chunk tasks (mailer.send_tasks)."""

import logging
from datetime import datetime, timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from config.request_log import new_request_id, request_id_bound
from events.progress import publish_progress
from mailer.models import Campaign, Message
from mailer.selectors.audience import campaign_recipients
from mailer.selectors.campaigns import campaign_progress
from mailer.selectors.messages import UNFINISHED
from mailer.services.campaigns import CampaignConflict, campaign_check_sendable

logger = logging.getLogger(__name__)

SEND_CHUNK_TASK = "mailer.send_tasks.send_chunk"
MESSAGE_CREATE_BATCH = 2000
PROGRESS_INTERVAL_S = 0.3
# A sending campaign whose messages have not moved for this long gets its chunks enqueued
# again (a lost broker message, a worker cut off from PostgreSQL); claims make it harmless.
SEND_STALL_AFTER_S = 300


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


def _refuse(campaign: Campaign, action: str, allowed: str) -> CampaignConflict:
    return CampaignConflict(f"A {campaign.status} campaign cannot be {action}; {allowed}.")


def messages_enqueue(*, campaign_id: int, statuses=(Message.Status.QUEUED,)) -> int:
    """Send chunk tasks for the campaign's messages in `statuses`; returns how many tasks."""
    ids = list(
        Message.objects.filter(campaign_id=campaign_id, status__in=statuses)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return chunks_enqueue(campaign_id=campaign_id, message_ids=ids)


def chunks_enqueue(
    *, campaign_id: int, message_ids: list[int], exclude_accounts: list[int] | None = None
) -> int:
    """Send chunk tasks of SEND_CHUNK_SIZE for these messages, in this order (not through
    `exclude_accounts`, provider account ids); returns how many tasks."""
    size = settings.SEND_CHUNK_SIZE
    for start in range(0, len(message_ids), size):
        chunk = message_ids[start : start + size]
        kwargs = {"exclude_accounts": exclude_accounts} if exclude_accounts else {}
        current_app.send_task(SEND_CHUNK_TASK, args=[campaign_id, chunk], kwargs=kwargs)
    return -(-len(message_ids) // size)


def _after_commit(campaign: Campaign, *, enqueue: bool = False) -> None:
    def run() -> None:
        if enqueue:
            messages_enqueue(campaign_id=campaign.pk)
        campaign_progress_publish(campaign_id=campaign.pk, force=True)

    transaction.on_commit(run)


def _messages_create(campaign: Campaign) -> int:
    recipients = campaign_recipients(campaign).order_by("pk").values_list("pk", "email")
    batch: list[Message] = []
    for subscriber_id, email in recipients.iterator(chunk_size=MESSAGE_CREATE_BATCH):
        batch.append(Message(campaign=campaign, subscriber_id=subscriber_id, email=email))
        if len(batch) >= MESSAGE_CREATE_BATCH:
            Message.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    Message.objects.bulk_create(batch, ignore_conflicts=True)
    return Message.objects.filter(campaign=campaign).count()


@transaction.atomic
def campaign_start_send(*, campaign: Campaign, requested_by=None) -> Campaign:
    """Freeze the recipients (one Message each), mark the campaign sending and, once that is
    committed, enqueue chunks of SEND_CHUNK_SIZE messages."""
    campaign = _locked(campaign)
    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
        raise _refuse(campaign, "sent", "only drafts and scheduled campaigns can")
    campaign_check_sendable(campaign, need_recipients=False)
    total = _messages_create(campaign)
    if not total:
        raise ValidationError(
            "The campaign has no recipients: choose lists or segments with active, "
            "not suppressed subscribers."
        )
    campaign.status = Campaign.Status.SENDING
    campaign.started_at = timezone.now()
    campaign.total_recipients = total
    campaign.save(update_fields=["status", "started_at", "total_recipients", "updated_at"])
    logger.info(
        "campaign sending",
        extra={
            "campaign": campaign.pk,
            "total": total,
            "requested_by": getattr(requested_by, "pk", None),
        },
    )
    _after_commit(campaign, enqueue=True)
    return campaign


@transaction.atomic
def campaign_pause(*, campaign: Campaign) -> Campaign:
    """Workers stop before their next message; the rest stays queued until resumed."""
    campaign = _locked(campaign)
    if campaign.status != Campaign.Status.SENDING:
        raise _refuse(campaign, "paused", "only a sending campaign can")
    campaign.status = Campaign.Status.PAUSED
    campaign.save(update_fields=["status", "updated_at"])
    _after_commit(campaign)
    return campaign


@transaction.atomic
def campaign_resume(*, campaign: Campaign) -> Campaign:
    """Sending again: the queued messages are enqueued anew (claims make overlaps harmless)."""
    campaign = _locked(campaign)
    if campaign.status != Campaign.Status.PAUSED:
        raise _refuse(campaign, "resumed", "only a paused campaign can")
    campaign.status = Campaign.Status.SENDING
    campaign.save(update_fields=["status", "updated_at"])
    _after_commit(campaign, enqueue=True)
    transaction.on_commit(partial(campaign_finish_if_done, campaign_id=campaign.pk))
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign) -> Campaign:
    """Stop for good: queued messages are cancelled (a message being sent right now still
    goes). A scheduled campaign goes back to draft instead, as nothing was sent."""
    campaign = _locked(campaign)
    if campaign.status == Campaign.Status.SCHEDULED:
        campaign.status = Campaign.Status.DRAFT
        campaign.scheduled_at = None
        campaign.save(update_fields=["status", "scheduled_at", "updated_at"])
        return campaign
    if campaign.status not in (Campaign.Status.SENDING, Campaign.Status.PAUSED):
        raise _refuse(campaign, "cancelled", "only a scheduled, sending or paused one can")
    now = timezone.now()
    Message.objects.filter(campaign=campaign, status=Message.Status.QUEUED).update(
        status=Message.Status.CANCELLED, updated_at=now
    )
    campaign.status = Campaign.Status.CANCELLED
    campaign.finished_at = now
    campaign.save(update_fields=["status", "finished_at", "updated_at"])
    _after_commit(campaign)
    return campaign


def campaign_finish_if_done(*, campaign_id: int) -> bool:
    """Mark a sending campaign sent once no message is queued or being sent. Run after each
    chunk: the last worker to commit a message sees every other's, so one of them finishes."""
    remaining = Message.objects.filter(campaign_id=OuterRef("pk"), status__in=UNFINISHED)
    finished = (
        Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING)
        .filter(~Exists(remaining))
        .update(status=Campaign.Status.SENT, finished_at=timezone.now(), updated_at=timezone.now())
    )
    if finished:
        campaign_progress_publish(campaign_id=campaign_id, force=True)
    return bool(finished)


def _progress_due(campaign_id: int) -> bool:
    try:
        return cache.add(f"campaign-progress:{campaign_id}", 1, PROGRESS_INTERVAL_S)
    except Exception:  # Redis down: progress is best effort, sending goes on
        logger.warning("progress throttle unavailable", exc_info=True)
        return False


def campaign_progress_publish(*, campaign_id: int, force: bool = False) -> None:
    """Tell dashboards how far the send got, at most every PROGRESS_INTERVAL_S across all
    workers (a shared Redis key), and always on status changes (`force`)."""
    if not force and not _progress_due(campaign_id):
        return
    campaign = Campaign.objects.filter(pk=campaign_id).only("status", "total_recipients").first()
    if campaign is not None:
        progress = campaign_progress(campaign=campaign)
        publish_progress(kind="campaign", object_id=campaign_id, status=campaign.status, **progress)


def campaigns_start_due(*, now: datetime | None = None) -> list[int]:
    """Start every scheduled campaign whose time has come. Safe from many processes at once:
    each campaign is taken with FOR UPDATE SKIP LOCKED, then its status changes."""
    now = now or timezone.now()
    started = []
    while True:
        # Each campaign's send is traced by an id of its own, as if an HTTP request started it.
        with request_id_bound(new_request_id()), transaction.atomic():
            campaign = (
                Campaign.objects.select_for_update(skip_locked=True)
                .filter(status=Campaign.Status.SCHEDULED, scheduled_at__lte=now)
                .order_by("scheduled_at", "pk")
                .first()
            )
            if campaign is None:
                return started
            try:
                campaign_start_send(campaign=campaign)
                started.append(campaign.pk)
            except ValidationError as error:
                logger.warning(
                    "scheduled campaign not sendable, back to draft",
                    extra={"campaign": campaign.pk, "reason": "; ".join(error.messages)},
                )
                campaign.status = Campaign.Status.DRAFT
                campaign.save(update_fields=["status", "updated_at"])


def campaigns_resume_stalled(*, now: datetime | None = None) -> list[int]:
    """Enqueue again the unfinished messages of sending campaigns that stopped moving."""
    quiet_since = (now or timezone.now()) - timedelta(seconds=SEND_STALL_AFTER_S)
    stalled = (
        Campaign.objects.filter(status=Campaign.Status.SENDING, started_at__lt=quiet_since)
        .annotate(last_move=Max("messages__updated_at"))
        .filter(last_move__lt=quiet_since)
        .values_list("pk", flat=True)
    )
    resumed = []
    for campaign_id in stalled:
        # Once per stall period, not at every beat while the queued chunks wait for a worker.
        if not cache.add(f"campaign-stall:{campaign_id}", 1, SEND_STALL_AFTER_S):
            continue
        if messages_enqueue(campaign_id=campaign_id, statuses=UNFINISHED):
            resumed.append(campaign_id)
        else:
            campaign_finish_if_done(campaign_id=campaign_id)
    if resumed:
        logger.warning("stalled campaigns enqueued again", extra={"campaigns": resumed})
    return resumed
