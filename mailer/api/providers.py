"""REST API of provider accounts: /api/providers/ (list, create, update, delete, clear a
misconfigured flag). Staff write; signed-in users read. Credentials are write-only."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from config.api_errors import json_error
from mailer.permissions import IsStaffOrReadOnly
from mailer.selectors.providers import provider_health_for, provider_list, provider_states_for
from mailer.serializers.providers import (
    INVALID_CREDENTIALS_EXAMPLE,
    PROVIDER_EXAMPLE,
    PROVIDER_RESPONSE_EXAMPLE,
    ProviderSerializer,
)
from mailer.services import providers as services

INVALID = OpenApiResponse(description="Invalid fields, or credentials that do not fit the kind")
EXAMPLES = [PROVIDER_EXAMPLE, PROVIDER_RESPONSE_EXAMPLE, INVALID_CREDENTIALS_EXAMPLE]


@extend_schema_view(
    list=extend_schema(
        summary="Provider accounts in sending order, with live state and quota left",
        description="Lower priority sends first. `state` is the router's view (healthy, open, "
        "half_open, throttled, misconfigured, disabled); `health` the last periodic check. "
        "Credentials never appear.",
        examples=[PROVIDER_RESPONSE_EXAMPLE],
    ),
    retrieve=extend_schema(summary="One provider account", examples=[PROVIDER_RESPONSE_EXAMPLE]),
    create=extend_schema(
        summary="Add a provider account",
        description="`credentials` holds exactly the kind's credential fields: an unknown field "
        "or a missing required one is a 400. They are stored encrypted and never returned.",
        responses={201: ProviderSerializer, 400: INVALID},
        examples=EXAMPLES,
    ),
    update=extend_schema(
        summary="Replace a provider account's fields",
        description="Omit `credentials` to keep the stored ones; give them to replace them all.",
        responses={200: ProviderSerializer, 400: INVALID},
        examples=EXAMPLES,
    ),
    partial_update=extend_schema(
        summary="Change some fields of a provider account (e.g. enabled, priority)",
        description="Omit `credentials` to keep the stored ones; give them to replace them all.",
        responses={200: ProviderSerializer, 400: INVALID},
        examples=EXAMPLES,
    ),
    destroy=extend_schema(summary="Delete a provider account"),
)
@extend_schema(tags=["providers"])
class ProviderViewSet(viewsets.ModelViewSet):
    permission_classes = [IsStaffOrReadOnly]
    serializer_class = ProviderSerializer
    pagination_class = None

    def get_queryset(self):
        return provider_list()

    def _context_for(self, accounts) -> dict:
        accounts = list(accounts)
        return {"states": provider_states_for(accounts), "health": provider_health_for(accounts)}

    def list(self, request, *args, **kwargs):
        accounts = list(self.get_queryset())
        context = {**self.get_serializer_context(), **self._context_for(accounts)}
        return Response(ProviderSerializer(accounts, many=True, context=context).data)

    def _answer(self, account, code: int = status.HTTP_200_OK) -> Response:
        context = {**self.get_serializer_context(), **self._context_for([account])}
        return Response(ProviderSerializer(account, context=context).data, status=code)

    def retrieve(self, request, *args, **kwargs):
        return self._answer(self.get_object())

    def handle_exception(self, exc):
        if isinstance(exc, DjangoValidationError):
            if hasattr(exc, "error_dict"):
                exc = serializers.ValidationError(exc.message_dict)
            else:
                return json_error("invalid", " ".join(exc.messages), status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = services.provider_create(**serializer.validated_data)
        return self._answer(account, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        account = services.provider_update(account=serializer.instance, **serializer.validated_data)
        return self._answer(account)

    def perform_destroy(self, instance):
        services.provider_delete(account=instance)

    @extend_schema(
        summary="Clear a misconfigured flag",
        description="After fixing an account's credentials, let the router use it again (it "
        "stops using an account whose provider refused the credentials).",
        request=None,
        responses={200: ProviderSerializer},
        examples=[PROVIDER_RESPONSE_EXAMPLE],
    )
    @action(detail=True, methods=["post"])
    def clear(self, request, pk=None):
        account = self.get_object()
        services.provider_clear(account=account)
        return self._answer(account)


router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("providers", ProviderViewSet, basename="api-provider")
urlpatterns = router.urls
