"""Project-wide endpoints: health and API tokens."""

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.health import health_report, is_healthy

HealthSerializer = inline_serializer(
    "Health",
    {
        "database": serializers.CharField(),
        "redis": serializers.CharField(),
        "spool": serializers.IntegerField(
            allow_null=True,
            help_text="Webhook requests spooled in Redis while PostgreSQL was down, not yet "
            "stored (null when Redis is down). Not part of the 200/503 rule.",
        ),
    },
)


class HealthView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        summary="Health of PostgreSQL and Redis",
        tags=["operations"],
        responses={200: HealthSerializer, 503: HealthSerializer},
        examples=[
            OpenApiExample("healthy", value={"database": "ok", "redis": "ok", "spool": 0}),
            OpenApiExample(
                "database down, webhooks spooled",
                value={"database": "down", "redis": "ok", "spool": 42},
                status_codes=["503"],
            ),
            OpenApiExample(
                "redis down",
                value={"database": "ok", "redis": "down", "spool": None},
                status_codes=["503"],
            ),
        ],
    )
    def get(self, request):
        report = health_report()
        return Response(report, status=200 if is_healthy(report) else 503)


class TokenView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_scope = "login"

    @extend_schema(
        summary="Exchange a username and password for an API token",
        tags=["auth"],
        request=AuthTokenSerializer,
        responses={200: inline_serializer("TokenOut", {"token": serializers.CharField()})},
        examples=[
            OpenApiExample(
                "credentials", value={"username": "ops", "password": "..."}, request_only=True
            ),
            OpenApiExample("token", value={"token": "9944b09199c62bcf9418ad846dd0e4bb"}),
        ],
    )
    def post(self, request):
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})
