"""JSON shapes of the audience API: subscribers, lists, segments, imports, suppressions."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema_field
from rest_framework import serializers

from mailer.models import MailingList, Segment, Subscriber, SubscriberImport, Suppression
from mailer.selectors.audience import segment_count
from mailer.selectors.imports import import_columns
from mailer.services.csv_reading import mapping_guess

ATTRIBUTE_NAME_MAX = 100
ERRORS_SHOWN_MAX = 100
ENGAGEMENT_DAYS_MAX = 3650


def _check_attributes(value) -> dict:
    if not isinstance(value, dict):
        raise serializers.ValidationError('Give attributes as an object, e.g. {"plan": "pro"}.')
    for key, item in value.items():
        if len(key) > ATTRIBUTE_NAME_MAX:
            raise serializers.ValidationError(f"Attribute names are at most {ATTRIBUTE_NAME_MAX}.")
        if isinstance(item, dict | list):
            raise serializers.ValidationError(
                f"Attribute {key!r} must be text, a number or a bool."
            )
    return value


def _check_mapping(value) -> dict:
    if not isinstance(value, dict):
        raise serializers.ValidationError(
            'Give the mapping as an object, e.g. {"email": "E-mail", "first_name": "First"}.'
        )
    return value


class SubscriberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(max_length=320)
    attributes = serializers.JSONField(required=False, validators=[_check_attributes])
    lists = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=MailingList.objects.all()
    )

    class Meta:
        model = Subscriber
        fields = (
            "id",
            "email",
            "first_name",
            "last_name",
            "attributes",
            "status",
            "is_active",
            "lists",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("created_at", "updated_at")


class MailingListSerializer(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = MailingList
        fields = ("id", "name", "description", "member_count", "created_at")
        read_only_fields = ("created_at",)
        # Uniqueness is the service's to check, with the product's message.
        extra_kwargs = {"name": {"validators": []}}


class MembersSerializer(serializers.Serializer):
    subscribers = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=10_000
    )


class MembersResultSerializer(serializers.Serializer):
    changed = serializers.IntegerField(help_text="Memberships added or removed")


class SegmentRulesSerializer(serializers.Serializer):
    """Segment rules (see mailer.models.Segment); all given rules must hold."""

    lists = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=MailingList.objects.all()
    )
    status = serializers.ListField(
        child=serializers.ChoiceField(choices=Subscriber.Status.choices), required=False
    )
    attributes = serializers.JSONField(required=False, validators=[_check_attributes])
    opened_within_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=ENGAGEMENT_DAYS_MAX
    )
    clicked_within_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=ENGAGEMENT_DAYS_MAX
    )

    def to_internal_value(self, data) -> dict:
        """Rules as stored: list ids, and only the rules that say something."""
        rules = super().to_internal_value(data)
        if "lists" in rules:
            rules["lists"] = [mailing_list.pk for mailing_list in rules["lists"]]
        return {key: value for key, value in rules.items() if value not in (None, [], {})}

    def to_representation(self, instance: dict) -> dict:
        return dict(instance or {})


class SegmentSerializer(serializers.ModelSerializer):
    rules = SegmentRulesSerializer(required=False)
    count = serializers.SerializerMethodField(help_text="Subscribers matching the rules now")

    class Meta:
        model = Segment
        fields = ("id", "name", "rules", "count", "created_at")
        read_only_fields = ("created_at",)
        extra_kwargs = {"name": {"validators": []}}

    def get_count(self, segment: Segment) -> int:
        return segment_count(segment.rules)


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class ImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The CSV file (UTF-8, UTF-16 or Latin-1; , ; or tab)")
    mailing_list = serializers.PrimaryKeyRelatedField(
        queryset=MailingList.objects.all(), required=False, allow_null=True
    )
    mapping = serializers.JSONField(
        required=False,
        validators=[_check_mapping],
        help_text='{"email": column, "first_name": column, "last_name": column, "ignore": '
        "[columns]}; other columns become attributes. Omitted: guessed from the header.",
    )
    start = serializers.BooleanField(
        default=True, help_text="false: only upload, and start later with a chosen mapping"
    )


class ImportStartSerializer(serializers.Serializer):
    mapping = serializers.JSONField(validators=[_check_mapping])


class SubscriberImportSerializer(serializers.ModelSerializer):
    columns = serializers.SerializerMethodField(help_text="The CSV's header columns")
    suggested_mapping = serializers.SerializerMethodField()
    duplicate_count = serializers.SerializerMethodField(help_text="Repeats within the file")
    errors = serializers.SerializerMethodField(help_text=f"The first {ERRORS_SHOWN_MAX} bad rows")
    errors_url = serializers.SerializerMethodField(help_text="All bad rows as CSV")

    class Meta:
        model = SubscriberImport
        fields = (
            "id",
            "original_name",
            "status",
            "mailing_list",
            "mapping",
            "columns",
            "suggested_mapping",
            "total_rows",
            "processed_rows",
            "created_count",
            "updated_count",
            "duplicate_count",
            "error_count",
            "errors",
            "errors_url",
            "created_at",
            "finished_at",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_columns(self, subscriber_import: SubscriberImport) -> list[str]:
        return import_columns(subscriber_import=subscriber_import)

    @extend_schema_field(serializers.DictField())
    def get_suggested_mapping(self, subscriber_import: SubscriberImport) -> dict:
        return mapping_guess(import_columns(subscriber_import=subscriber_import))

    def get_duplicate_count(self, subscriber_import: SubscriberImport) -> int:
        """Rows neither stored nor bad: repeats of an address seen earlier in the file."""
        done = subscriber_import
        if done.status != SubscriberImport.Status.DONE:
            return 0
        stored = done.created_count + done.updated_count + done.error_count
        return max(0, done.processed_rows - stored)

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_errors(self, subscriber_import: SubscriberImport) -> list[dict]:
        return subscriber_import.errors[:ERRORS_SHOWN_MAX]

    def get_errors_url(self, subscriber_import: SubscriberImport) -> str:
        return reverse("api-import-errors", kwargs={"pk": subscriber_import.pk})


class SuppressionSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(max_length=320)
    reason = serializers.ChoiceField(
        choices=Suppression.Reason.choices, default=Suppression.Reason.MANUAL
    )
    event_url = serializers.SerializerMethodField(help_text="The event that caused it, if any")

    class Meta:
        model = Suppression
        fields = ("id", "email", "reason", "note", "event", "event_url", "created_at")
        read_only_fields = ("event", "created_at")

    def get_event_url(self, suppression: Suppression) -> str | None:
        if suppression.event_id is None:
            return None
        return reverse("event-detail", kwargs={"pk": suppression.event_id})


SUBSCRIBER_EXAMPLE = OpenApiExample(
    "subscriber",
    value={
        "id": 7,
        "email": "Ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "attributes": {"plan": "pro", "city": "London"},
        "status": "active",
        "is_active": True,
        "lists": [1],
        "created_at": "2026-11-22T17:40:02Z",
        "updated_at": "2026-11-22T17:40:02Z",
    },
)
SEGMENT_EXAMPLE = OpenApiExample(
    "engaged pro users",
    value={
        "id": 2,
        "name": "Engaged pros",
        "rules": {
            "lists": [1],
            "status": ["active"],
            "attributes": {"plan": "pro"},
            "opened_within_days": 30,
        },
        "count": 412,
        "created_at": "2026-11-22T17:40:02Z",
    },
)
IMPORT_EXAMPLE = OpenApiExample(
    "running import",
    value={
        "id": 12,
        "original_name": "customers.csv",
        "status": "running",
        "mailing_list": 1,
        "mapping": {"email": "E-mail", "first_name": "First", "last_name": None, "ignore": []},
        "columns": ["E-mail", "First", "Plan"],
        "suggested_mapping": {
            "email": "E-mail",
            "first_name": "First",
            "last_name": None,
            "ignore": [],
        },
        "total_rows": 100000,
        "processed_rows": 40000,
        "created_count": 39000,
        "updated_count": 950,
        "duplicate_count": 0,
        "error_count": 50,
        "errors": [{"line": 7, "reason": "not an email address: 'bob@'"}],
        "errors_url": "/api/imports/12/errors/",
        "created_at": "2026-11-22T17:40:02Z",
        "finished_at": None,
    },
)
SUPPRESSION_EXAMPLE = OpenApiExample(
    "hard bounce",
    value={
        "id": 3,
        "email": "gone@example.com",
        "reason": "hard_bounce",
        "note": "",
        "event": 1042,
        "event_url": "/api/events/1042/",
        "created_at": "2026-11-22T17:40:02Z",
    },
)
