"""REST reads of events: history (PostgreSQL), the live snapshot (Redis) and stats."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from config.pagination import ClampedPageSize
from events import selectors
from events.models import EmailEvent
from events.serializers import (
    EVENT_EXAMPLE,
    EmailEventDetailSerializer,
    EmailEventSerializer,
    EventFilterSerializer,
    LiveSnapshotSerializer,
    StatsQuerySerializer,
    StatsSerializer,
)


class EventCursorPagination(ClampedPageSize, CursorPagination):
    ordering = ("-timestamp", "-id")
    page_size = 50


def _filter_parameters() -> list[OpenApiParameter]:
    text = OpenApiTypes.STR
    return [
        OpenApiParameter("type", text, description="Normalized type(s), comma-separated"),
        OpenApiParameter("provider", text, description="Provider slug(s), comma-separated"),
        OpenApiParameter("recipient", text, description="Recipient, case-insensitive"),
        OpenApiParameter("campaign", OpenApiTypes.INT, description="Campaign id"),
        OpenApiParameter("message_id", text, description="Provider message id"),
        OpenApiParameter("since", OpenApiTypes.DATETIME, description="Event time from"),
        OpenApiParameter("until", OpenApiTypes.DATETIME, description="Event time before"),
    ]


@extend_schema(tags=["events"])
class EventListView(ListAPIView):
    serializer_class = EmailEventSerializer
    pagination_class = EventCursorPagination

    def get_queryset(self):
        filters = EventFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.event_list(filters=filters.validated_data)

    @extend_schema(
        summary="Event history, newest first, with filters and cursor pagination",
        parameters=_filter_parameters(),
        examples=[EVENT_EXAMPLE],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["events"])
class EventDetailView(RetrieveAPIView):
    serializer_class = EmailEventDetailSerializer
    queryset = EmailEvent.objects.all()

    @extend_schema(summary="One event with the provider's raw payload")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["events"])
class MessageTimelineView(ListAPIView):
    serializer_class = EmailEventSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.message_timeline(message_id=self.kwargs["message_id"])[:1000]

    @extend_schema(summary="Every event of one provider message, oldest first")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["events"])
class LiveView(APIView):
    @extend_schema(
        summary="The live view from Redis: counters and the most recent events",
        responses=LiveSnapshotSerializer,
    )
    def get(self, request):
        return Response(selectors.live_snapshot(limit=settings.LIVE_SNAPSHOT_EVENTS))


@extend_schema(tags=["events"])
class StatsView(APIView):
    @extend_schema(
        summary="Totals and per-minute counts by type (default: the last 60 minutes)",
        parameters=[StatsQuerySerializer],
        responses=StatsSerializer,
    )
    def get(self, request):
        query = StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        # Already in StatsSerializer's shape (the JSON encoder writes its datetimes alike); a
        # day's 1,440 minutes through the serializer cost more than reading them.
        return Response(selectors.event_stats(**query.validated_data))
