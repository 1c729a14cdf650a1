"""GET /api/events/export/: the events of a time range as a CSV or JSON-lines download,
streamed (events.export). Staff only: an export holds every recipient address."""

from datetime import UTC

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAdminUser
from rest_framework.views import APIView

from events.api.events import _filter_parameters
from events.export import (
    EXPORT_FORMATS,
    EventExportQuerySerializer,
    events_for_export,
    export_lines,
)


class _FirstRenderer(DefaultContentNegotiation):
    """`format` here chooses the export, not DRF's renderer: errors are always JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _export_parameters() -> list[OpenApiParameter]:
    required = {"since", "format"}
    parameters = [p for p in _filter_parameters() if p.name not in required]
    return [
        OpenApiParameter(
            "format", OpenApiTypes.STR, required=True, enum=sorted(EXPORT_FORMATS),
            description="csv (with a header row; formula-like cells quoted with ') or jsonl",
        ),
        OpenApiParameter(
            "since", OpenApiTypes.DATETIME, required=True, description="Event time from"
        ),
        *parameters,
    ]  # fmt: skip


@extend_schema(tags=["events"])
class EventExportView(APIView):
    permission_classes = [IsAdminUser]
    content_negotiation_class = _FirstRenderer

    @extend_schema(
        summary="Export the events of a time range (CSV or JSON lines), oldest first",
        description="Streams every event with since <= timestamp < until (until: now by "
        "default) matching the filters, in the history's shape without the raw payload. "
        "400 for an unknown format or a range that ends before it starts; staff only (403).",
        parameters=_export_parameters(),
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV"),
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR, description="One event's JSON per line"
            ),
            400: OpenApiResponse(description="Invalid format, range or filter"),
            403: OpenApiResponse(description="Not staff"),
        },
    )
    def get(self, request):
        query = EventExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        export_format = filters["format"]
        response = StreamingHttpResponse(
            export_lines(events_for_export(filters=filters), export_format),
            content_type=EXPORT_FORMATS[export_format],
        )
        since, until = (
            filters[k].astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") for k in ("since", "until")
        )
        name = f"events-{since}-{until}.{export_format}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
