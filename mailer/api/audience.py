"""REST API of the audience: /api/subscribers/, /api/lists/, /api/segments/, /api/imports/,
/api/suppressions/. Staff write; other signed-in users read (IsStaffOrReadOnly)."""

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import StreamingHttpResponse
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from config.api_errors import json_error
from config.csv_export import csv_lines
from config.pagination import ClampedPageSize
from mailer.api.audience_schema import (
    import_schema,
    list_schema,
    segment_schema,
    subscriber_schema,
    suppression_schema,
)
from mailer.models import Segment, Subscriber
from mailer.permissions import IsStaffOrReadOnly
from mailer.selectors import audience as selectors
from mailer.selectors.imports import import_list
from mailer.serializers.audience import (
    ImportCreateSerializer,
    ImportStartSerializer,
    MailingListSerializer,
    MembersSerializer,
    SegmentRulesSerializer,
    SegmentSerializer,
    SubscriberImportSerializer,
    SubscriberSerializer,
    SuppressionSerializer,
)
from mailer.services import audience as services
from mailer.services.imports import ImportTooLarge, import_start, import_upload

# Room for the multipart envelope around a file of IMPORT_MAX_BYTES.
UPLOAD_OVERHEAD_BYTES = 64 * 1024


class AudiencePagination(ClampedPageSize, PageNumberPagination):
    page_size = 50


def csv_response(rows: Iterable[list], filename: str) -> StreamingHttpResponse:
    """Stream rows as a CSV download, row by row (large lists never sit in memory)."""
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class AudienceViewSet(viewsets.GenericViewSet):
    """Shared: permissions, pagination, and service errors shown as 400 field errors."""

    permission_classes = [IsStaffOrReadOnly]
    pagination_class = AudiencePagination

    def handle_exception(self, exc):
        if isinstance(exc, DjangoValidationError):
            detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            exc = serializers.ValidationError(detail)
        return super().handle_exception(exc)


@subscriber_schema
class SubscriberViewSet(AudienceViewSet, viewsets.ModelViewSet):
    serializer_class = SubscriberSerializer

    def get_queryset(self):
        params = self.request.query_params
        status_filter = params.get("status", "")
        if status_filter and status_filter not in Subscriber.Status.values:
            choices = ", ".join(Subscriber.Status.values)
            raise serializers.ValidationError({"status": [f"Choose one of: {choices}."]})
        list_id = params.get("list", "")
        return selectors.subscriber_list(
            search=params.get("search", "").strip(),
            status=status_filter,
            list_id=int(list_id) if list_id.isdigit() else None,
        ).prefetch_related("lists")

    def perform_create(self, serializer):
        serializer.instance = services.subscriber_create(**serializer.validated_data)

    def perform_update(self, serializer):
        services.subscriber_update(subscriber=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.subscriber_delete(subscriber=instance)


@list_schema
class MailingListViewSet(AudienceViewSet, viewsets.ModelViewSet):
    serializer_class = MailingListSerializer

    def get_queryset(self):
        return selectors.mailing_list_list()

    def perform_create(self, serializer):
        serializer.instance = services.mailing_list_save(**serializer.validated_data)

    def perform_update(self, serializer):
        services.mailing_list_save(mailing_list=serializer.instance, **serializer.validated_data)

    def _members(self, request, change) -> Response:
        members = MembersSerializer(data=request.data)
        members.is_valid(raise_exception=True)
        changed = change(
            mailing_list=self.get_object(), subscriber_ids=members.validated_data["subscribers"]
        )
        return Response({"changed": changed})

    @action(detail=True, methods=["post"], url_path="members/add")
    def members_add(self, request, pk=None):
        return self._members(request, services.list_members_add)

    @action(detail=True, methods=["post"], url_path="members/remove")
    def members_remove(self, request, pk=None):
        return self._members(request, services.list_members_remove)

    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        mailing_list = self.get_object()
        rows = selectors.subscriber_export_rows(mailing_list.subscribers.all())
        return csv_response(rows, f"list-{mailing_list.pk}.csv")


@segment_schema
class SegmentViewSet(AudienceViewSet, viewsets.ModelViewSet):
    serializer_class = SegmentSerializer
    queryset = Segment.objects.all()

    def perform_create(self, serializer):
        serializer.instance = services.segment_save(**serializer.validated_data)

    def perform_update(self, serializer):
        services.segment_save(segment=serializer.instance, **serializer.validated_data)

    @action(detail=True, methods=["get"])
    def count(self, request, pk=None):
        return Response({"count": selectors.segment_count(self.get_object().rules)})

    # A read, though a POST: anyone signed in may preview.
    @action(
        detail=False,
        methods=["post"],
        url_path="preview-count",
        permission_classes=[IsAuthenticated],
    )
    def preview_count(self, request):
        rules = SegmentRulesSerializer(data=request.data)
        rules.is_valid(raise_exception=True)
        return Response({"count": selectors.segment_count(rules.validated_data)})

    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        segment = self.get_object()
        rows = selectors.subscriber_export_rows(selectors.segment_subscribers(segment))
        return csv_response(rows, f"segment-{segment.pk}.csv")


@import_schema
class ImportViewSet(
    AudienceViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin
):
    serializer_class = SubscriberImportSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        return import_list()

    def create(self, request, *args, **kwargs):
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.IMPORT_MAX_BYTES + UPLOAD_OVERHEAD_BYTES:
            return self._too_large()
        upload = ImportCreateSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        if data["file"].size > settings.IMPORT_MAX_BYTES:
            return self._too_large()
        try:
            subscriber_import = import_upload(
                name=data["file"].name,
                content=data["file"].read(),
                mailing_list=data.get("mailing_list"),
                created_by=request.user,
                mapping=data.get("mapping"),
                start=data["start"],
            )
        except ImportTooLarge:
            return self._too_large()
        subscriber_import = import_list().get(pk=subscriber_import.pk)
        return Response(self.get_serializer(subscriber_import).data, status=201)

    def _too_large(self) -> Response:
        return json_error(
            "too_large",
            f"The file is larger than the limit of {settings.IMPORT_MAX_BYTES} bytes.",
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )

    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        body = ImportStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscriber_import = import_start(
            subscriber_import=self.get_object(), mapping=body.validated_data["mapping"]
        )
        return Response(self.get_serializer(subscriber_import).data)

    @action(detail=True, methods=["get"])
    def errors(self, request, pk=None):
        subscriber_import = self.get_object()
        rows = [["line", "reason"], *([e["line"], e["reason"]] for e in subscriber_import.errors)]
        return csv_response(rows, f"import-{subscriber_import.pk}-errors.csv")


@suppression_schema
class SuppressionViewSet(AudienceViewSet, viewsets.ModelViewSet):
    serializer_class = SuppressionSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.suppression_list(
            search=params.get("search", "").strip(), reason=params.get("reason", "")
        )

    def perform_create(self, serializer):
        serializer.instance = services.suppression_add(**serializer.validated_data)

    def perform_update(self, serializer):
        data = serializer.validated_data
        services.suppression_update(
            suppression=serializer.instance,
            reason=data.get("reason", serializer.instance.reason),
            note=data.get("note", serializer.instance.note),
        )

    def perform_destroy(self, instance):
        services.suppression_remove(suppression=instance)


router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("subscribers", SubscriberViewSet, basename="api-subscriber")
router.register("lists", MailingListViewSet, basename="api-list")
router.register("segments", SegmentViewSet, basename="api-segment")
router.register("imports", ImportViewSet, basename="api-import")
router.register("suppressions", SuppressionViewSet, basename="api-suppression")

urlpatterns = router.urls
