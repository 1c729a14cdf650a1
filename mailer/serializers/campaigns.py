"""JSON shapes of the campaigns API: campaigns, their actions and preview, and messages."""

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from mailer.models import Campaign, MailingList, Message, Segment, Subscriber
from mailer.selectors.campaigns import campaign_progress
from mailer.services.campaigns import campaign_content_errors

CAMPAIGN_READ_ONLY = (
    "id",
    "status",
    "scheduled_at",
    "started_at",
    "finished_at",
    "total_recipients",
    "created_by",
    "created_at",
    "updated_at",
)


class CampaignSerializer(serializers.ModelSerializer):
    lists = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=MailingList.objects.all()
    )
    segments = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Segment.objects.all()
    )

    class Meta:
        model = Campaign
        fields = (
            "name",
            "subject",
            "preview_text",
            "article_url",
            "html_content",
            "plain_text_content",
            "published_date",
            "is_active",
            "from_name",
            "from_email",
            "reply_to",
            "lists",
            "segments",
            *CAMPAIGN_READ_ONLY,
        )
        read_only_fields = CAMPAIGN_READ_ONLY

    def validate(self, attrs: dict) -> dict:
        errors = campaign_content_errors(attrs)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    done = serializers.IntegerField(help_text="Messages neither queued nor being sent")
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Messages by status")
    funnel = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Unique messages that reached sent, delivered, opened, clicked",
    )


class CampaignDetailSerializer(CampaignSerializer):
    """A campaign with its send progress (messages by status)."""

    progress = serializers.SerializerMethodField()

    class Meta(CampaignSerializer.Meta):
        fields = (*CampaignSerializer.Meta.fields, "progress")

    def get_progress(self, campaign: Campaign) -> ProgressSerializer:
        return campaign_progress(campaign=campaign)


class CampaignFilterSerializer(serializers.Serializer):
    status = serializers.MultipleChoiceField(choices=Campaign.Status.choices, required=False)
    search = serializers.CharField(required=False, max_length=200)


class SendSerializer(serializers.Serializer):
    scheduled_at = serializers.DateTimeField(
        required=False, help_text="Send at this time instead of now"
    )


class TestSendSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=320)
    subscriber = serializers.PrimaryKeyRelatedField(
        queryset=Subscriber.objects.all(),
        required=False,
        help_text="Personalise as this subscriber (default: blank fields)",
    )


class TestSendResultSerializer(serializers.Serializer):
    accepted = serializers.BooleanField()
    provider = serializers.CharField()
    provider_message_id = serializers.CharField()


class PreviewQuerySerializer(serializers.Serializer):
    subscriber = serializers.PrimaryKeyRelatedField(
        queryset=Subscriber.objects.all(),
        required=False,
        help_text="Render for this subscriber (default: blank fields)",
    )


class PreviewSerializer(serializers.Serializer):
    subject = serializers.CharField()
    html = serializers.CharField()
    text = serializers.CharField()


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = (
            "id",
            "campaign",
            "subscriber",
            "email",
            "uid",
            "status",
            "provider",
            "provider_message_id",
            "error",
            "attempts",
            "claimed_at",
            "sent_at",
            "updated_at",
        )
        read_only_fields = fields


class MessageFilterSerializer(serializers.Serializer):
    campaign = serializers.IntegerField(required=False, min_value=1)
    status = serializers.MultipleChoiceField(choices=Message.Status.choices, required=False)
    email = serializers.EmailField(required=False, max_length=320)

    def to_internal_value(self, data):
        # Accept both ?status=a&status=b and ?status=a,b.
        if hasattr(data, "getlist"):
            data = {
                key: [v for item in data.getlist(key) for v in item.split(",") if v]
                if key == "status"
                else data.get(key)
                for key in data
            }
        return super().to_internal_value(data)


CAMPAIGN_EXAMPLE = OpenApiExample(
    "campaign",
    value={
        "name": "November news",
        "subject": "News for {{ first_name|default:'you' }}",
        "preview_text": "Three things we shipped",
        "html_content": '<p>Hi {{ first_name }}</p><p><a href="{{ unsubscribe_url }}">Stop</a></p>',
        "from_name": "Example",
        "from_email": "news@example.com",
        "lists": [1],
        "segments": [],
    },
    request_only=True,
)
CONFLICT_EXAMPLE = OpenApiExample(
    "not allowed now",
    value={
        "error": "conflict",
        "detail": "A sending campaign cannot be sent; only drafts and scheduled campaigns can.",
    },
    response_only=True,
    status_codes=["409"],
)
NOT_SENDABLE_EXAMPLE = OpenApiExample(
    "not sendable",
    value={
        "error": "invalid",
        "detail": "The campaign has no recipients: choose lists or segments with active, "
        "not suppressed subscribers.",
    },
    response_only=True,
    status_codes=["400"],
)
