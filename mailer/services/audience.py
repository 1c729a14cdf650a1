"""Writes to the audience: subscribers, lists, segments and the suppression list.

Services raise django.core.exceptions.ValidationError with messages a person can act on; the
API and the pages show them as field errors.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from events.models import EmailEvent
from mailer.models import ListMembership, MailingList, Segment, Subscriber, Suppression

EMAIL_MAX_LENGTH = 320
DUPLICATE_EMAIL = "A subscriber with this email already exists."
INVALID_EMAIL = "Enter a valid email address."

# What a suppression says about the subscriber; manual suppressions leave the status alone
# (the address is never mailed either way, and the status keeps saying why it was last known).
SUPPRESSION_STATUS = {
    Suppression.Reason.HARD_BOUNCE: Subscriber.Status.BOUNCED,
    Suppression.Reason.COMPLAINT: Subscriber.Status.COMPLAINED,
    Suppression.Reason.UNSUBSCRIBE: Subscriber.Status.UNSUBSCRIBED,
}
SUBSCRIBER_FIELDS = ("email", "first_name", "last_name", "attributes", "status", "is_active")


def email_clean(email: str) -> str:
    """The address as stored: trimmed, case kept; raises ValidationError when it is not one."""
    email = (email or "").strip()
    if not email or len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError({"email": [INVALID_EMAIL]})
    try:
        validate_email(email)
    except ValidationError as error:
        raise ValidationError({"email": [INVALID_EMAIL]}) from error
    return email


def _check_email_free(email: str, *, exclude_pk: int | None = None) -> None:
    taken = Subscriber.objects.filter(email__iexact=email).exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError({"email": [DUPLICATE_EMAIL]})


def _save_unique(subscriber: Subscriber) -> None:
    """Save, turning a concurrent insert of the same address into the usual message."""
    try:
        with transaction.atomic():
            subscriber.save()
    except IntegrityError as error:
        raise ValidationError({"email": [DUPLICATE_EMAIL]}) from error


@transaction.atomic
def subscriber_create(
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    attributes: dict | None = None,
    status: str = Subscriber.Status.ACTIVE,
    is_active: bool = True,
    lists: Iterable[MailingList] = (),
) -> Subscriber:
    email = email_clean(email)
    _check_email_free(email)
    subscriber = Subscriber(
        email=email,
        first_name=first_name,
        last_name=last_name,
        attributes=attributes or {},
        status=status,
        is_active=is_active,
    )
    _save_unique(subscriber)
    if lists:
        subscriber.lists.add(*lists)
    return subscriber


@transaction.atomic
def subscriber_update(
    *, subscriber: Subscriber, lists: Iterable[MailingList] | None = None, **changes
) -> Subscriber:
    """Change any of SUBSCRIBER_FIELDS; `lists`, when given, replaces the memberships."""
    unknown = set(changes) - set(SUBSCRIBER_FIELDS)
    if unknown:
        raise TypeError(f"not subscriber fields: {sorted(unknown)}")
    if "email" in changes:
        changes["email"] = email_clean(changes["email"])
        _check_email_free(changes["email"], exclude_pk=subscriber.pk)
    for field, value in changes.items():
        setattr(subscriber, field, value)
    _save_unique(subscriber)
    if lists is not None:
        subscriber.lists.set(lists)
    return subscriber


def subscriber_delete(*, subscriber: Subscriber) -> None:
    """Deleting forgets the person; their suppression (if any) stays, so they are still never
    mailed if they come back through an import."""
    subscriber.delete()


def mailing_list_save(*, mailing_list: MailingList | None = None, **fields) -> MailingList:
    """Create (no `mailing_list`) or change a list's name and description."""
    mailing_list = mailing_list or MailingList()
    for field, value in fields.items():
        setattr(mailing_list, field, value)
    if MailingList.objects.filter(name=mailing_list.name).exclude(pk=mailing_list.pk).exists():
        raise ValidationError({"name": ["A list with this name already exists."]})
    mailing_list.save()
    return mailing_list


def list_members_add(*, mailing_list: MailingList, subscriber_ids: Iterable[int]) -> int:
    """Adds subscribers to a list (ones already in it are left as they are); returns how many
    were new members."""
    ids = set(Subscriber.objects.filter(pk__in=list(subscriber_ids)).values_list("pk", flat=True))
    members = ListMembership.objects.filter(mailing_list=mailing_list, subscriber_id__in=ids)
    new_ids = ids - set(members.values_list("subscriber_id", flat=True))
    ListMembership.objects.bulk_create(
        [ListMembership(mailing_list=mailing_list, subscriber_id=pk) for pk in new_ids],
        ignore_conflicts=True,
    )
    return len(new_ids)


def list_members_remove(*, mailing_list: MailingList, subscriber_ids: Iterable[int]) -> int:
    deleted, _ = ListMembership.objects.filter(
        mailing_list=mailing_list, subscriber_id__in=list(subscriber_ids)
    ).delete()
    return deleted


def segment_save(*, segment: Segment | None = None, **fields) -> Segment:
    """Create (no `segment`) or change a segment's name and rules (already validated)."""
    segment = segment or Segment()
    for field, value in fields.items():
        setattr(segment, field, value)
    if Segment.objects.filter(name=segment.name).exclude(pk=segment.pk).exists():
        raise ValidationError({"name": ["A segment with this name already exists."]})
    segment.save()
    return segment


def segment_delete(*, segment: Segment) -> None:
    """Campaigns that targeted the segment keep the recipients they already froze."""
    segment.delete()


@transaction.atomic
def suppression_add(
    *, email: str, reason: str, event: EmailEvent | None = None, note: str = ""
) -> Suppression:
    """Never mail `email` again. Idempotent: an existing suppression is kept as it is (first
    reason wins). The matching subscriber's status follows the reason (SUPPRESSION_STATUS)."""
    email = email_clean(email)
    if reason not in Suppression.Reason.values:
        raise ValidationError({"reason": [f"Choose one of: {', '.join(Suppression.Reason)}."]})
    suppression = Suppression.objects.filter(email__iexact=email).first()
    if suppression is None:
        try:
            with transaction.atomic():
                suppression = Suppression.objects.create(
                    email=email, reason=reason, event=event, note=note
                )
        except IntegrityError:
            suppression = Suppression.objects.get(email__iexact=email)
    status = SUPPRESSION_STATUS.get(reason)
    if status:
        Subscriber.objects.filter(email__iexact=email).update(
            status=status, updated_at=timezone.now()
        )
    return suppression


def suppression_update(*, suppression: Suppression, reason: str, note: str) -> Suppression:
    """Correct a suppression's reason or note (the address itself is what it is)."""
    suppression.reason = reason
    suppression.note = note
    suppression.save(update_fields=["reason", "note"])
    return suppression


def suppression_remove(*, suppression: Suppression) -> None:
    """Allow mailing the address again. The subscriber's status is NOT set back to active: a
    bounce or complaint stays on record, and reactivating is a separate, deliberate edit."""
    suppression.delete()
