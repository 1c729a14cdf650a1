"""JSON shapes of the providers API (/api/providers/) and of a campaign's cost before sending.
`credentials` is write-only: accepted on create and update, never in any response."""

from drf_spectacular.utils import OpenApiExample, extend_schema_field
from rest_framework import serializers

from mailer.models import ProviderAccount
from mailer.serializers.campaigns import SendSerializer
from mailer.services.providers import credentials_errors


class ProviderStateSerializer(serializers.Serializer):
    status = serializers.CharField(
        help_text="healthy, open (failing, paused), half_open (trying again), throttled, "
        "misconfigured (credentials refused), disabled, or unknown"
    )
    reason = serializers.CharField(allow_null=True, allow_blank=True)
    until = serializers.CharField(allow_null=True, help_text="When the state ends, if it does")
    sent_today = serializers.IntegerField(allow_null=True)
    quota_left = serializers.IntegerField(allow_null=True, help_text="None: no daily quota")
    error_rate = serializers.FloatField(allow_null=True, help_text="Recent errors / attempts")
    latency_ms = serializers.FloatField(allow_null=True)


class ProviderHealthSerializer(serializers.Serializer):
    health = serializers.CharField(
        help_text="ok, degraded, down, misconfigured, disabled or unknown"
    )
    status_page = serializers.CharField(
        allow_null=True,
        help_text="operational, minor, major, critical, unreachable; null when the kind has "
        "no public status page",
    )
    status_page_detail = serializers.CharField(allow_blank=True)
    checked_at = serializers.CharField()


class ProviderSerializer(serializers.ModelSerializer):
    credentials = serializers.JSONField(
        write_only=True,
        required=False,
        help_text='Write-only: the kind\'s credential fields (e.g. {"api_key": "…"}). '
        "Required on create; on update, omit to keep the stored ones.",
        style={"input_type": "password"},
    )
    state = serializers.SerializerMethodField()
    quota_left = serializers.SerializerMethodField()
    health = serializers.SerializerMethodField()
    has_credentials = serializers.SerializerMethodField()

    class Meta:
        model = ProviderAccount
        fields = (
            "id",
            "name",
            "kind",
            "priority",
            "rate_limit_per_s",
            "daily_quota",
            "enabled",
            "credentials",
            "has_credentials",
            "state",
            "quota_left",
            "health",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")

    def _state(self, account: ProviderAccount) -> dict:
        states = self.context.get("states") or {}
        return states.get(account.pk) or {}

    @extend_schema_field(ProviderStateSerializer)
    def get_state(self, account: ProviderAccount) -> dict:
        return self._state(account)

    def get_quota_left(self, account: ProviderAccount) -> int | None:
        return self._state(account).get("quota_left")

    @extend_schema_field(ProviderHealthSerializer(allow_null=True))
    def get_health(self, account: ProviderAccount) -> dict | None:
        health = (self.context.get("health") or {}).get(account.pk)
        if not health:
            return None
        return {key: health.get(key) for key in ProviderHealthSerializer().fields}

    def get_has_credentials(self, account: ProviderAccount) -> bool:
        return bool(account.encrypted_credentials)

    def validate(self, attrs: dict) -> dict:
        kind = attrs.get("kind") or getattr(self.instance, "kind", None)
        if self.instance is None and "credentials" not in attrs:
            raise serializers.ValidationError({"credentials": ["This field is required."]})
        if "credentials" in attrs and kind:
            errors = credentials_errors(kind, attrs["credentials"])
            if errors:
                raise serializers.ValidationError({"credentials": errors})
        return attrs


class SendConfirmSerializer(SendSerializer):
    confirm = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Send even when the campaign costs more messages than the providers' "
        "daily quota left (otherwise 409 over_quota)",
    )


class ProviderQuotaSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    quota_left = serializers.IntegerField(allow_null=True)


class CampaignCostSerializer(serializers.Serializer):
    cost = serializers.IntegerField(help_text="Messages sending now would take")
    quota_left = serializers.IntegerField(
        allow_null=True, help_text="Daily quota left across enabled providers; null: unlimited"
    )
    exceeds_quota = serializers.BooleanField(help_text="Sending asks for confirm: true")
    providers = ProviderQuotaSerializer(many=True)
    notices = serializers.ListField(
        child=serializers.CharField(), help_text="What is not configured (no provider, no From)"
    )


PROVIDER_EXAMPLE = OpenApiExample(
    "A Mailgun account",
    request_only=True,
    value={
        "name": "Mailgun EU",
        "kind": "mailgun",
        "credentials": {"api_key": "key-…", "sender_domain": "mg.example.com"},
        "priority": 10,
        "rate_limit_per_s": 50,
        "daily_quota": 100000,
        "enabled": True,
    },
)
PROVIDER_RESPONSE_EXAMPLE = OpenApiExample(
    "An account with its state",
    response_only=True,
    value={
        "id": 3,
        "name": "Mailgun EU",
        "kind": "mailgun",
        "priority": 10,
        "rate_limit_per_s": 50,
        "daily_quota": 100000,
        "enabled": True,
        "has_credentials": True,
        "state": {
            "status": "healthy",
            "reason": "",
            "until": None,
            "sent_today": 1200,
            "quota_left": 98800,
            "error_rate": 0.01,
            "latency_ms": 180.0,
        },
        "quota_left": 98800,
        "health": {
            "health": "ok",
            "status_page": "unreachable",
            "status_page_detail": "status page unreachable",
            "checked_at": "2025-01-01T12:00:00+00:00",
        },
        "created_at": "2025-01-01T10:00:00Z",
        "updated_at": "2025-01-01T10:00:00Z",
    },
)
INVALID_CREDENTIALS_EXAMPLE = OpenApiExample(
    "Credentials that do not fit the kind",
    response_only=True,
    status_codes=["400"],
    value={
        "error": "invalid",
        "detail": "The request has invalid fields.",
        "fields": {"credentials": ["Missing credential field: api_key."]},
    },
)
OVER_QUOTA_EXAMPLE = OpenApiExample(
    "More messages than the quota left",
    response_only=True,
    status_codes=["409"],
    value={
        "error": "over_quota",
        "detail": "This campaign costs 12000 messages but the providers have 5000 left today; "
        'send again with {"confirm": true} to send anyway.',
        "cost": 12000,
        "quota_left": 5000,
    },
)
