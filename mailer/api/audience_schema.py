"""The /doc descriptions of the audience API (mailer.api.audience), kept apart so the views
stay short: a summary, a tag and examples for every endpoint."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

from mailer.serializers.audience import (
    IMPORT_EXAMPLE,
    SEGMENT_EXAMPLE,
    SUBSCRIBER_EXAMPLE,
    SUPPRESSION_EXAMPLE,
    CountSerializer,
    ImportCreateSerializer,
    ImportStartSerializer,
    MembersResultSerializer,
    MembersSerializer,
    SegmentRulesSerializer,
)

CSV_DOWNLOAD = OpenApiResponse(OpenApiTypes.BINARY, description="text/csv, streamed")
MEMBERS_EXAMPLE = OpenApiExample("subscriber ids", value={"subscribers": [7, 8, 9]})
RULES_EXAMPLE = OpenApiExample(
    "rules", value={"lists": [1], "status": ["active"], "opened_within_days": 30}
)


def _crud(tag: str, thing: str, example: OpenApiExample, list_parameters=(), **extra):
    """summary, tag and example for the standard actions of a viewset about `thing`."""
    return extend_schema_view(
        list=extend_schema(
            tags=[tag], summary=f"List {thing}s (paginated)", parameters=list(list_parameters)
        ),
        retrieve=extend_schema(tags=[tag], summary=f"One {thing}", examples=[example]),
        create=extend_schema(tags=[tag], summary=f"Add a {thing} (staff)", examples=[example]),
        update=extend_schema(tags=[tag], summary=f"Replace a {thing} (staff)", examples=[example]),
        partial_update=extend_schema(
            tags=[tag], summary=f"Change some fields of a {thing} (staff)", examples=[example]
        ),
        destroy=extend_schema(tags=[tag], summary=f"Delete a {thing} (staff)"),
        **extra,
    )


def _search(description: str) -> OpenApiParameter:
    return OpenApiParameter("search", OpenApiTypes.STR, description=description)


subscriber_schema = _crud(
    "subscribers",
    "subscriber",
    SUBSCRIBER_EXAMPLE,
    [
        _search("Part of the email or name, case-insensitive"),
        OpenApiParameter(
            "status", OpenApiTypes.STR, enum=["active", "unsubscribed", "bounced", "complained"]
        ),
        OpenApiParameter("list", OpenApiTypes.INT, description="Members of this list id"),
    ],
)

list_schema = _crud(
    "lists",
    "mailing list",
    OpenApiExample(
        "list",
        value={
            "id": 1,
            "name": "Newsletter",
            "description": "",
            "member_count": 1200,
            "created_at": "2026-11-22T17:40:02Z",
        },
    ),
    members_add=extend_schema(
        tags=["lists"],
        summary="Add subscribers to the list (staff); members already in it are kept",
        request=MembersSerializer,
        responses=MembersResultSerializer,
        examples=[MEMBERS_EXAMPLE],
    ),
    members_remove=extend_schema(
        tags=["lists"],
        summary="Remove subscribers from the list (staff)",
        request=MembersSerializer,
        responses=MembersResultSerializer,
        examples=[MEMBERS_EXAMPLE],
    ),
    export=extend_schema(
        tags=["lists"], summary="The list's members as CSV", responses={200: CSV_DOWNLOAD}
    ),
)

segment_schema = _crud(
    "segments",
    "segment",
    SEGMENT_EXAMPLE,
    count=extend_schema(
        tags=["segments"], summary="How many subscribers match now", responses=CountSerializer
    ),
    preview_count=extend_schema(
        tags=["segments"],
        summary="How many subscribers unsaved rules would match (any signed-in user)",
        request=SegmentRulesSerializer,
        responses=CountSerializer,
        examples=[RULES_EXAMPLE],
    ),
    export=extend_schema(
        tags=["segments"], summary="The matching subscribers as CSV", responses={200: CSV_DOWNLOAD}
    ),
)

import_schema = extend_schema_view(
    list=extend_schema(tags=["imports"], summary="CSV imports, newest first"),
    retrieve=extend_schema(
        tags=["imports"],
        summary="An import's status, progress, counts and first errors (poll this)",
        examples=[IMPORT_EXAMPLE],
    ),
    create=extend_schema(
        tags=["imports"],
        summary="Upload a CSV (multipart, staff); starts at once unless start=false",
        description="Over IMPORT_MAX_BYTES: 413. Over IMPORT_MAX_ROWS rows: 400.",
        request={"multipart/form-data": ImportCreateSerializer},
        examples=[IMPORT_EXAMPLE],
    ),
    start=extend_schema(
        tags=["imports"],
        summary="Start an uploaded import with a column mapping (staff)",
        request=ImportStartSerializer,
        examples=[
            OpenApiExample(
                "mapping",
                value={
                    "mapping": {
                        "email": "E-mail",
                        "first_name": "First",
                        "last_name": None,
                        "ignore": ["Notes"],
                    }
                },
            )
        ],
    ),
    errors=extend_schema(
        tags=["imports"],
        summary="Every bad row (line, reason) as CSV",
        responses={200: CSV_DOWNLOAD},
    ),
)

suppression_schema = _crud(
    "suppressions",
    "suppression",
    SUPPRESSION_EXAMPLE,
    [
        _search("Part of the address"),
        OpenApiParameter(
            "reason", OpenApiTypes.STR, enum=["hard_bounce", "complaint", "unsubscribe", "manual"]
        ),
    ],
)
