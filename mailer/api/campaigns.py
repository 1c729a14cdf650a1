"""REST API of campaigns and their messages: /api/campaigns/ (edit, send, pause, resume,
cancel, retry-failed, test, preview) and /api/messages/. Staff write and send; signed-in users
read."""

from dataclasses import asdict

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from config.api_errors import json_error
from config.pagination import ClampedPageSize
from mailer.delivery import DeliveryError
from mailer.models import Campaign
from mailer.permissions import IsStaffOrReadOnly
from mailer.selectors.campaigns import campaign_list
from mailer.selectors.messages import message_list
from mailer.selectors.providers import campaign_quota
from mailer.serializers.campaigns import (
    CAMPAIGN_EXAMPLE,
    CONFLICT_EXAMPLE,
    NOT_SENDABLE_EXAMPLE,
    CampaignDetailSerializer,
    CampaignFilterSerializer,
    CampaignSerializer,
    MessageFilterSerializer,
    MessageSerializer,
    PreviewQuerySerializer,
    PreviewSerializer,
    TestSendResultSerializer,
    TestSendSerializer,
)
from mailer.serializers.providers import (
    OVER_QUOTA_EXAMPLE,
    CampaignCostSerializer,
    SendConfirmSerializer,
)
from mailer.services import campaigns as services
from mailer.services import sending
from mailer.services.resending import campaign_retry_failed

CONFLICT = OpenApiResponse(description="Not allowed in the campaign's current state")
REFUSED = {409: CONFLICT}
NOT_SENDABLE = OpenApiResponse(description="No From address, subject, content or recipients")


class CampaignPagination(ClampedPageSize, PageNumberPagination):
    page_size = 50


class MessagePagination(ClampedPageSize, CursorPagination):
    ordering = "-id"
    page_size = 100


def _action_schema(summary: str, description: str, **extra):
    return extend_schema(
        summary=summary,
        description=description,
        request=extra.pop("request", None),
        responses=extra.pop("responses", {200: CampaignDetailSerializer, **REFUSED}),
        examples=[CONFLICT_EXAMPLE, *extra.pop("examples", [])],
        **extra,
    )


@extend_schema_view(
    list=extend_schema(summary="Campaigns, newest first", parameters=[CampaignFilterSerializer]),
    retrieve=extend_schema(summary="One campaign with its send progress"),
    create=extend_schema(summary="Create a draft campaign", examples=[CAMPAIGN_EXAMPLE]),
    update=extend_schema(
        summary="Edit a draft or scheduled campaign",
        responses={200: CampaignDetailSerializer, **REFUSED},
    ),
    partial_update=extend_schema(
        summary="Edit some fields of a draft or scheduled campaign",
        responses={200: CampaignDetailSerializer, **REFUSED},
    ),
    destroy=extend_schema(summary="Delete a draft campaign", responses={204: None, **REFUSED}),
)
@extend_schema(tags=["campaigns"])
class CampaignViewSet(viewsets.ModelViewSet):
    permission_classes = [IsStaffOrReadOnly]
    pagination_class = CampaignPagination

    def get_queryset(self):
        filters = CampaignFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return campaign_list(filters=filters.validated_data)

    def get_serializer_class(self):
        return CampaignSerializer if self.action == "list" else CampaignDetailSerializer

    def handle_exception(self, exc):
        if isinstance(exc, services.CampaignConflict):
            return json_error("conflict", str(exc), status.HTTP_409_CONFLICT)
        if isinstance(exc, DjangoValidationError):
            if hasattr(exc, "error_dict"):
                exc = serializers.ValidationError(exc.message_dict)
            else:
                return json_error("invalid", " ".join(exc.messages), status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)

    def perform_create(self, serializer):
        serializer.instance = services.campaign_create(
            created_by=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.campaign_update(
            campaign=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.campaign_delete(campaign=instance)

    def _answer(self, campaign, code: int = status.HTTP_200_OK) -> Response:
        return Response(CampaignDetailSerializer(campaign).data, status=code)

    @_action_schema(
        "Send now, or at scheduled_at",
        "Freezes the recipients (active, in the lists or segments, not suppressed), creates one "
        "message each and starts the workers. 409 unless the campaign is a draft or scheduled; "
        "400 when it has no From address, subject, content or recipients; 409 over_quota when "
        "it costs more messages than the providers' daily quota left (see cost/), unless "
        '`{"confirm": true}`.',
        request=SendConfirmSerializer,
        responses={202: CampaignDetailSerializer, 400: NOT_SENDABLE, **REFUSED},
        examples=[NOT_SENDABLE_EXAMPLE, OVER_QUOTA_EXAMPLE],
    )
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        body = SendConfirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        campaign = self.get_object()
        checks_quota = campaign.status in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED)
        if checks_quota and "scheduled_at" not in body.validated_data:
            quota = campaign_quota(campaign)
            if quota["exceeds_quota"] and not body.validated_data["confirm"]:
                return json_error(
                    "over_quota",
                    f"This campaign costs {quota['cost']} messages but the providers have "
                    f"{quota['quota_left']} left today; send again with "
                    '{"confirm": true} to send anyway.',
                    status.HTTP_409_CONFLICT,
                    cost=quota["cost"],
                    quota_left=quota["quota_left"],
                )
        if "scheduled_at" in body.validated_data:
            campaign = services.campaign_schedule(
                campaign=campaign, scheduled_at=body.validated_data["scheduled_at"]
            )
        else:
            campaign = sending.campaign_start_send(campaign=campaign, requested_by=request.user)
        return self._answer(campaign, status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="What sending now would cost",
        description="The messages sending the campaign now would take (its recipients; its "
        "queued messages when paused), the daily quota left across enabled providers (null: "
        "unlimited), each provider's quota left, and what is not configured.",
        responses=CampaignCostSerializer,
    )
    @action(detail=True, methods=["get"])
    def cost(self, request, pk=None):
        return Response(CampaignCostSerializer(campaign_quota(self.get_object())).data)

    @_action_schema("Pause sending", "Workers stop before their next message. 409 unless sending.")
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._answer(sending.campaign_pause(campaign=self.get_object()))

    @_action_schema("Resume a paused send", "The queued messages go out. 409 unless paused.")
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._answer(sending.campaign_resume(campaign=self.get_object()))

    @_action_schema(
        "Cancel",
        "A sending or paused campaign stops for good (queued messages are cancelled); a "
        "scheduled one goes back to draft. 409 otherwise.",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._answer(sending.campaign_cancel(campaign=self.get_object()))

    @_action_schema(
        "Retry the failed messages",
        "Queues again the failed messages that no provider accepted (transient errors that used "
        "up their attempts, a template error since fixed, a refusal at send time) through the "
        "exactly-once send path: retrying twice, or while workers send, sends no one twice. "
        "Never messages a provider accepted, nor suppressed or unsubscribed addresses. A sent "
        "campaign is sending again until they are done. 409 unless sending, paused or sent.",
        responses={
            202: inline_serializer(
                "RetryFailedResult",
                {"requeued": serializers.IntegerField(), "campaign": CampaignDetailSerializer()},
            ),
            **REFUSED,
        },
    )
    @action(detail=True, methods=["post"], url_path="retry-failed")
    def retry_failed(self, request, pk=None):
        result = campaign_retry_failed(campaign=self.get_object())
        body = {
            "requeued": len(result.message_ids),
            "campaign": CampaignDetailSerializer(result.campaign).data,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @_action_schema(
        "Send a test to one address",
        "Sent now, with “[Test]” before the subject; not counted in the campaign's results.",
        request=TestSendSerializer,
        responses={200: TestSendResultSerializer, 502: OpenApiResponse(description="Refused")},
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        body = TestSendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            accepted = services.campaign_send_test(
                campaign=self.get_object(), **body.validated_data
            )
        except DeliveryError as error:
            return json_error("not_sent", f"The test was not sent: {error}", 502)
        return Response({"accepted": True, **asdict(accepted)})

    @extend_schema(
        summary="The campaign as a subscriber would receive it",
        parameters=[PreviewQuerySerializer],
        responses=PreviewSerializer,
    )
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        query = PreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rendered = services.campaign_render_for(
            self.get_object(), query.validated_data.get("subscriber")
        )
        return Response(PreviewSerializer(rendered).data)


@extend_schema_view(
    list=extend_schema(
        summary="Campaign messages, newest first", parameters=[MessageFilterSerializer]
    ),
    retrieve=extend_schema(summary="One message: recipient, status, provider id, error"),
)
@extend_schema(tags=["campaigns"])
class MessageViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsStaffOrReadOnly]
    pagination_class = MessagePagination
    serializer_class = MessageSerializer

    def get_queryset(self):
        filters = MessageFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return message_list(filters=filters.validated_data)


router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("campaigns", CampaignViewSet, basename="api-campaign")
router.register("messages", MessageViewSet, basename="api-message")
urlpatterns = router.urls
