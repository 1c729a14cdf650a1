"""GET /metrics: Prometheus text for whoever holds METRICS_TOKEN (`Authorization: Bearer`).

A plain Django view: no session, no CSRF (GET only), not in the API schema. Unset token: 404,
as if the endpoint did not exist (metrics are off); missing or wrong token: 401. Both bodies
are the product's JSON error shape.
"""

import hmac
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, disable_created_metrics
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from config.api_errors import error_body
from config.metrics_collector import SharedStateCollector

# A `_created` series beside every counter doubles the output for nothing a dashboard uses.
disable_created_metrics()
REGISTRY.register(SharedStateCollector())


def _registry() -> CollectorRegistry:
    """This process's metrics; under `serve --processes N`, those of all N (config.metrics)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(SharedStateCollector())
    return registry


def _bearer(request: HttpRequest) -> bytes:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip().encode() if scheme.lower() == "bearer" else b""


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    expected = settings.METRICS_TOKEN.encode()
    if not expected:
        return JsonResponse(
            error_body("not_found", "Metrics are off: set METRICS_TOKEN to serve them."),
            status=404,
        )
    if not hmac.compare_digest(_bearer(request), expected):
        response = JsonResponse(
            error_body("unauthorized", "Send Authorization: Bearer <METRICS_TOKEN>."), status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # The text format Prometheus asks for (OpenMetrics, or the classic 0.0.4 by default).
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(_registry()), content_type=content_type)
