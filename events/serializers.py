"""The one JSON shape of an event, shared by the REST API and websocket frames."""

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from events.models import EmailEvent, EventType, Provider

EVENT_FIELDS = (
    "id",
    "provider",
    "type",
    "provider_event",
    "recipient",
    "message_id",
    "provider_event_id",
    "timestamp",
    "received_at",
    "campaign",
    "tags",
    "metadata",
    "description",
    "mta_response",
    "reject_reason",
    "url",
    "user_agent",
)


def serialize_event(event: EmailEvent) -> dict:
    """Plain-dict serialization, fast enough for 1,000-event batches on the live path."""
    return {
        "id": event.id,
        "provider": event.provider,
        "type": event.type,
        "provider_event": event.provider_event,
        "recipient": event.recipient,
        "message_id": event.message_id,
        "provider_event_id": event.provider_event_id,
        "timestamp": event.timestamp.isoformat().replace("+00:00", "Z"),
        "received_at": event.received_at.isoformat().replace("+00:00", "Z"),
        "campaign": event.campaign_id,
        "tags": event.tags,
        "metadata": event.metadata,
        "description": event.description,
        "mta_response": event.mta_response,
        "reject_reason": event.reject_reason,
        "url": event.url,
        "user_agent": event.user_agent,
    }


class EmailEventSerializer(serializers.ModelSerializer):
    """Documents the shape; representation goes through `serialize_event`."""

    class Meta:
        model = EmailEvent
        fields = EVENT_FIELDS

    def to_representation(self, instance: EmailEvent) -> dict:
        return serialize_event(instance)


class EmailEventDetailSerializer(EmailEventSerializer):
    """An event with the provider's raw payload, exactly as it was posted."""

    class Meta:
        model = EmailEvent
        fields = (*EVENT_FIELDS, "raw")

    def to_representation(self, instance: EmailEvent) -> dict:
        return {**serialize_event(instance), "raw": instance.raw}


class EventFilterSerializer(serializers.Serializer):
    """Query filters of /api/events/, validated so a typo answers 400 rather than nothing."""

    type = serializers.MultipleChoiceField(choices=EventType.choices, required=False)
    provider = serializers.MultipleChoiceField(choices=Provider.choices, required=False)
    recipient = serializers.CharField(required=False, max_length=320)
    campaign = serializers.IntegerField(required=False, min_value=1)
    message_id = serializers.CharField(required=False, max_length=255)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)

    def to_internal_value(self, data):
        # Accept both ?type=a&type=b and ?type=a,b.
        if hasattr(data, "getlist"):
            data = {
                key: (
                    [v for item in data.getlist(key) for v in item.split(",") if v]
                    if key in ("type", "provider")
                    else data.get(key)
                )
                for key in data
            }
        return super().to_internal_value(data)


class StatsQuerySerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class StatsMinuteSerializer(serializers.Serializer):
    minute = serializers.DateTimeField()
    counts = serializers.DictField(child=serializers.IntegerField())


class StatsSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    source = serializers.ChoiceField(
        choices=["live", "database"],
        help_text="Where the whole minutes were counted: the live view's exact per-minute "
        "counters (windows within the last 24 hours, while Redis holds them) or PostgreSQL.",
    )
    totals = serializers.DictField(child=serializers.IntegerField())
    per_minute = StatsMinuteSerializer(many=True)


class LiveSnapshotSerializer(serializers.Serializer):
    counters = serializers.DictField()
    events = EmailEventSerializer(many=True)
    cursor = serializers.CharField(allow_null=True)


EVENT_EXAMPLE = OpenApiExample(
    "delivered",
    value={
        "id": 1042,
        "provider": "mandrill",
        "type": "delivered",
        "provider_event": "delivered",
        "recipient": "ada@example.com",
        "message_id": "7761629",
        "provider_event_id": "",
        "timestamp": "2026-11-22T17:40:02Z",
        "received_at": "2026-11-22T17:40:03.120482Z",
        "campaign": 3,
        "tags": ["welcome"],
        "metadata": {"campaign_id": "3"},
        "description": "",
        "mta_response": "250 OK",
        "reject_reason": "",
        "url": "",
        "user_agent": "",
    },
)
