"""Writes to campaigns outside sending: create, edit, delete, schedule, and test sends.

Services raise django.core.exceptions.ValidationError for what the person can fix (shown as a
400 or as form errors) and CampaignConflict when the campaign's state forbids the action (409).
"""

import uuid
from collections.abc import Iterable
from datetime import datetime
from email.utils import formataddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from mailer.delivery import (
    Accepted,
    OutgoingEmail,
    delivery_connection,
    email_deliver,
    message_id_for,
)
from mailer.models import Campaign, MailingList, Message, Segment, Subscriber
from mailer.rendering import CampaignTemplates, merge_context, merge_tag_error
from mailer.selectors.audience import campaign_recipients
from mailer.unsubscribe import unsubscribe_url

TEMPLATE_FIELDS = ("subject", "html_content", "plain_text_content")
EDITABLE = {Campaign.Status.DRAFT, Campaign.Status.SCHEDULED}
TEST_SUBJECT_PREFIX = "[Test] "


class CampaignConflict(Exception):
    """The campaign's current state does not allow the action; the message says why."""


def campaign_content_errors(values: dict) -> dict[str, str]:
    """Merge-tag syntax errors by field, for the fields present in `values`."""
    errors = {}
    for name in TEMPLATE_FIELDS:
        problem = merge_tag_error(values.get(name) or "")
        if problem:
            errors[name] = problem
    return errors


def campaign_from_address(campaign: Campaign) -> str:
    """The From header: the campaign's own address, else DEFAULT_FROM_EMAIL ("" if neither)."""
    if campaign.from_email:
        return formataddr((campaign.from_name, campaign.from_email))
    return settings.DEFAULT_FROM_EMAIL or ""


def campaign_check_sendable(campaign: Campaign, *, need_recipients: bool = True) -> None:
    """Raise ValidationError saying plainly what stops this campaign from being sent."""
    problems = []
    if not campaign_from_address(campaign):
        problems.append("The campaign has no From address: set from_email.")
    if not campaign.subject.strip():
        problems.append("The campaign has no subject.")
    if not (campaign.html_content.strip() or campaign.plain_text_content.strip()):
        problems.append("The campaign has no content: write the HTML or the plain text.")
    if need_recipients and not campaign_recipients(campaign).exists():
        problems.append(
            "The campaign has no recipients: choose lists or segments with active, "
            "not suppressed subscribers."
        )
    if problems:
        raise ValidationError(problems)


def _apply(
    campaign: Campaign,
    fields: dict,
    lists: Iterable[MailingList] | None,
    segments: Iterable[Segment] | None,
) -> Campaign:
    errors = campaign_content_errors(fields)
    if errors:
        raise ValidationError(errors)
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign.full_clean(exclude=["lists", "segments", "created_by"])
    campaign.save()
    if lists is not None:
        campaign.lists.set(lists)
    if segments is not None:
        campaign.segments.set(segments)
    return campaign


@transaction.atomic
def campaign_create(
    *,
    created_by,
    lists: Iterable[MailingList] = (),
    segments: Iterable[Segment] = (),
    **fields,
) -> Campaign:
    return _apply(Campaign(created_by=created_by), fields, lists, segments)


@transaction.atomic
def campaign_update(
    *,
    campaign: Campaign,
    lists: Iterable[MailingList] | None = None,
    segments: Iterable[Segment] | None = None,
    **fields,
) -> Campaign:
    """Edit a draft or scheduled campaign; once sending started its content is what was sent."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in EDITABLE:
        raise CampaignConflict(
            f"A {campaign.status} campaign cannot be edited; only drafts and scheduled ones can."
        )
    return _apply(campaign, fields, lists, segments)


@transaction.atomic
def campaign_delete(*, campaign: Campaign) -> None:
    """Delete a draft; anything else has (or may soon have) messages and events to keep."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.DRAFT:
        raise CampaignConflict(
            f"A {campaign.status} campaign cannot be deleted; only drafts can "
            "(cancel it first if it should not go out)."
        )
    campaign.delete()


@transaction.atomic
def campaign_schedule(*, campaign: Campaign, scheduled_at: datetime) -> Campaign:
    """Start sending at `scheduled_at` (see mailer.send_tasks.start_due_campaigns)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in EDITABLE:
        raise CampaignConflict(
            f"A {campaign.status} campaign cannot be scheduled; only drafts can "
            "(or scheduled ones, to change the time)."
        )
    campaign_check_sendable(campaign)
    campaign.status = Campaign.Status.SCHEDULED
    campaign.scheduled_at = scheduled_at
    campaign.save(update_fields=["status", "scheduled_at", "updated_at"])
    return campaign


def campaign_preview_message(campaign: Campaign, subscriber: Subscriber | None) -> Message:
    """The subscriber's message of this campaign, or an unsaved stand-in whose links are well
    formed but name no stored message."""
    if subscriber is not None:
        existing = Message.objects.filter(campaign=campaign, subscriber=subscriber).first()
        if existing:
            return existing
    return Message(campaign=campaign, subscriber=subscriber, email=getattr(subscriber, "email", ""))


def campaign_render_for(campaign: Campaign, subscriber: Subscriber | None):
    """The campaign as `subscriber` would receive it (blank fields when None)."""
    message = campaign_preview_message(campaign, subscriber)
    context = merge_context(subscriber=subscriber, unsubscribe_url=unsubscribe_url(message))
    return CampaignTemplates(campaign).render(context)


def campaign_send_test(
    *, campaign: Campaign, email: str, subscriber: Subscriber | None = None
) -> Accepted:
    """Send the campaign to one address now, personalised as `subscriber` (or blank). No
    Message row and no event: a test is not part of the campaign's results."""
    from_email = campaign_from_address(campaign)
    if not from_email:
        raise ValidationError("The campaign has no From address: set from_email.")
    rendered = campaign_render_for(campaign, subscriber)
    outgoing = OutgoingEmail(
        to=email,
        subject=TEST_SUBJECT_PREFIX + rendered.subject,
        html=rendered.html,
        text=rendered.text,
        from_email=from_email,
        reply_to=campaign.reply_to,
        message_id=message_id_for(uuid.uuid4()),
        metadata={"campaign_id": str(campaign.pk), "test": "1"},
        tags=["test"],
    )
    with delivery_connection() as connection:
        return email_deliver(outgoing, connection=connection)
