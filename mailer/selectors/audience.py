"""Who a campaign may reach: segment rules, targets, and the suppression list."""

from collections.abc import Iterator
from datetime import timedelta

from django.db.models import CharField, Count, Exists, Func, OuterRef, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from events.models import EmailEvent
from mailer.models import Campaign, MailingList, Segment, Subscriber, Suppression

ENGAGEMENT_RULES = {"opened_within_days": "opened", "clicked_within_days": "clicked"}


def _engaged(event_type: str, days: int) -> Exists:
    since = timezone.now() - timedelta(days=days)
    return Exists(
        EmailEvent.objects.alias(recipient_lower=Lower("recipient")).filter(
            recipient_lower=Lower(OuterRef("email")), type=event_type, timestamp__gte=since
        )
    )


def segment_subscribers(segment: Segment) -> QuerySet[Subscriber]:
    """Subscribers matching every rule of the segment (see Segment's docstring)."""
    rules = segment.rules or {}
    subscribers = Subscriber.objects.all()
    if rules.get("lists"):
        subscribers = subscribers.filter(lists__in=rules["lists"])
    if rules.get("status"):
        subscribers = subscribers.filter(status__in=rules["status"])
    for key, value in (rules.get("attributes") or {}).items():
        subscribers = subscribers.filter(**{f"attributes__{key}": value})
    for rule, event_type in ENGAGEMENT_RULES.items():
        if rules.get(rule):
            subscribers = subscribers.filter(_engaged(event_type, int(rules[rule])))
    return subscribers.distinct()


def suppressed(email_field: str = "email") -> Exists:
    """Whether the row's address is on the suppression list, case-insensitively."""
    return Exists(
        Suppression.objects.annotate(lower=Lower("email")).filter(
            lower=Lower(OuterRef(email_field))
        )
    )


def campaign_recipients(campaign: Campaign) -> QuerySet[Subscriber]:
    """Who a campaign goes to: active subscribers in any of its lists or segments, not
    suppressed. Each subscriber once."""
    targets = Q(lists__in=campaign.lists.all())
    for segment in campaign.segments.all():
        targets |= Q(pk__in=segment_subscribers(segment).values("pk"))
    return (
        Subscriber.objects.filter(targets, status=Subscriber.Status.ACTIVE, is_active=True)
        .exclude(suppressed())
        .distinct()
    )


def subscriber_list(
    *, search: str = "", status: str = "", list_id: int | None = None
) -> QuerySet[Subscriber]:
    """Subscribers, newest first; `search` matches email or name, case-insensitively."""
    subscribers = Subscriber.objects.all()
    if search:
        subscribers = subscribers.filter(
            Q(email__icontains=search)
            | Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
        )
    if status:
        subscribers = subscribers.filter(status=status)
    if list_id:
        subscribers = subscribers.filter(lists=list_id)
    return subscribers


def mailing_list_list() -> QuerySet[MailingList]:
    # An aggregate drops Meta.ordering: without this, pages could repeat or skip lists.
    return MailingList.objects.annotate(member_count=Count("listmembership")).order_by("name", "id")


def segment_count(rules: dict) -> int:
    """How many subscribers the rules match now (for a saved segment or one being edited)."""
    return segment_subscribers(Segment(rules=rules)).count()


def suppression_list(*, search: str = "", reason: str = "") -> QuerySet[Suppression]:
    suppressions = Suppression.objects.select_related("event")
    if search:
        suppressions = suppressions.filter(email__icontains=search)
    if reason:
        suppressions = suppressions.filter(reason=reason)
    return suppressions


EXPORT_COLUMNS = ("email", "first_name", "last_name", "status", "is_active", "created_at")
EXPORT_CHUNK_ROWS = 2000


class _AttributeKeys(Func):
    """PostgreSQL's jsonb_object_keys, one row per key; attributes that are not an object
    (they always should be) count as empty."""

    template = (
        "jsonb_object_keys(CASE WHEN jsonb_typeof(%(expressions)s) = 'object'"
        " THEN %(expressions)s ELSE '{}'::jsonb END)"
    )
    output_field = CharField()


def _attribute_keys(subscribers: QuerySet[Subscriber]) -> list[str]:
    """Every attribute name used by these subscribers, in one query, so each gets a column."""
    keys = subscribers.order_by().annotate(key=_AttributeKeys("attributes"))
    return sorted(keys.values_list("key", flat=True).distinct())


def subscriber_export_rows(subscribers: QuerySet[Subscriber]) -> Iterator[list]:
    """The header, then one row per subscriber: fixed columns, then one per attribute (so an
    export imports back as it was)."""
    keys = [key for key in _attribute_keys(subscribers) if key not in EXPORT_COLUMNS]
    yield [*EXPORT_COLUMNS, *keys]
    for subscriber in subscribers.order_by("id").iterator(chunk_size=EXPORT_CHUNK_ROWS):
        attributes = subscriber.attributes if isinstance(subscriber.attributes, dict) else {}
        yield [
            subscriber.email,
            subscriber.first_name,
            subscriber.last_name,
            subscriber.status,
            subscriber.is_active,
            subscriber.created_at.isoformat(),
            *(attributes.get(key, "") for key in keys),
        ]
