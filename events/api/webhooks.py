"""POST /api/hook/ and /api/hook/<provider>/: where every provider delivers its events.

Answers 200 once the events are stored, or once they are spooled in Redis when PostgreSQL is
unreachable (`"spooled": true`, still 200: some providers treat anything but 200 as a
failure); 503 with Retry-After only when neither PostgreSQL nor Redis can take them.
"""

import logging

from django.db import DataError, InterfaceError, OperationalError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_errors import error_body
from events.providers import ADAPTERS
from events.providers.base import WebhookRefused
from events.webhooks import receive_webhook

logger = logging.getLogger(__name__)

ErrorSerializer = inline_serializer(
    "Error", {"error": serializers.CharField(), "detail": serializers.CharField()}
)
AcceptedSerializer = inline_serializer(
    "WebhookAccepted",
    {
        "provider": serializers.CharField(),
        "stored": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "skipped": serializers.ListField(child=serializers.DictField()),
        "verified": serializers.BooleanField(),
        "spooled": serializers.BooleanField(required=False),
        "spool_id": serializers.CharField(required=False),
    },
)


class RawBodyParser(BaseParser):
    """Declares every media type so DRF leaves the body to the provider adapters."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


@extend_schema(tags=["webhooks"])
class WebhookView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    parser_classes = (RawBodyParser,)

    @extend_schema(
        summary="Probe: providers check the URL before saving it",
        operation_id="hook_probe",
        responses={200: inline_serializer("Probe", {"providers": serializers.ListField()})},
    )
    def get(self, request, provider: str | None = None):
        return Response({"providers": list(ADAPTERS)})

    @extend_schema(
        summary="Receive a provider's delivery events",
        operation_id="hook_receive",
        description=(
            "Verifies the request (the provider's signature, or HTTP basic auth from "
            "WEBHOOK_SECRET), stores each event once and answers 200 only after commit. "
            "When PostgreSQL is unreachable the verified events are spooled in Redis and "
            "stored later by the spool drainer: 200 with `spooled: true` and `stored: 0`. "
            "Without a provider in the URL the provider is recognised from the request. "
            "Refusals: 400 malformed or unknown provider, 401 wrong basic auth (with "
            "WWW-Authenticate), 403 bad or stale signature, 404 unknown provider slug, "
            "413 body too large, 415 wrong content type, 503 database and Redis both, or the "
            "SNS certificate host, unavailable (retry)."
        ),
        request=OpenApiTypes.BINARY,
        responses={
            200: AcceptedSerializer,
            400: OpenApiResponse(ErrorSerializer, description="malformed or unknown provider"),
            401: OpenApiResponse(ErrorSerializer, description="basic auth missing or wrong"),
            403: OpenApiResponse(ErrorSerializer, description="signature missing or wrong"),
            404: OpenApiResponse(ErrorSerializer, description="no such provider"),
            413: OpenApiResponse(ErrorSerializer, description="body too large"),
            415: OpenApiResponse(ErrorSerializer, description="wrong content type"),
            503: OpenApiResponse(
                ErrorSerializer,
                description="database and Redis, or SNS certificate host, unavailable",
            ),
        },
        examples=[
            OpenApiExample(
                "stored",
                value={
                    "provider": "mandrill",
                    "stored": 2,
                    "duplicates": 0,
                    "skipped": [],
                    "verified": True,
                },
                response_only=True,
            ),
            OpenApiExample(
                "spooled",
                value={
                    "provider": "mandrill",
                    "stored": 0,
                    "duplicates": 0,
                    "skipped": [],
                    "verified": True,
                    "spooled": True,
                    "spool_id": "1763832002120-0",
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request, provider: str | None = None):
        try:
            outcome = receive_webhook(request._request, provider)
        except WebhookRefused as refusal:
            logger.info("webhook refused", extra={"provider": provider, "reason": refusal.code})
            return Response(
                error_body(refusal.code, refusal.detail, **refusal.extra),
                status=refusal.status,
                headers=refusal.headers,
            )
        except DataError as error:
            return Response(
                error_body("unstorable", f"An event could not be stored: {error}"[:500]),
                status=400,
            )
        except (OperationalError, InterfaceError):
            logger.exception("webhook not stored: database and spool unavailable")
            return Response(
                error_body("database_unavailable", "Events were not stored; retry later."),
                status=503,
                headers={"Retry-After": "30"},
            )
        body = {k: v for k, v in outcome.__dict__.items() if k != "spool_id"}
        if outcome.spool_id:
            body.update(spooled=True, spool_id=outcome.spool_id)
        return Response(body)


@extend_schema_view(
    get=extend_schema(operation_id="hook_provider_probe"),
    post=extend_schema(
        operation_id="hook_provider_receive",
        parameters=[OpenApiParameter("provider", str, OpenApiParameter.PATH, enum=list(ADAPTERS))],
    ),
)
class ProviderWebhookView(WebhookView):
    """The same endpoint with the provider named in the URL instead of recognised."""
