"""Every API error is JSON of one shape: {"error": "<code>", "detail": "<message>", ...}."""

from django.http import JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def error_body(code: str, detail: str, **extra) -> dict:
    """The one error shape used by every API response and webhook refusal."""
    return {"error": code, "detail": detail, **extra}


def exception_handler(exc, context):
    """Wraps DRF's handler so validation and auth errors share the product's error shape."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(
            "invalid", "The request has invalid fields.", fields=response.data
        )
    elif isinstance(exc, exceptions.APIException):
        response.data = error_body(exc.default_code, str(exc.detail))
    return response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    """JSON 404 under /api/, Django's page elsewhere."""
    if _is_api(request):
        return JsonResponse(
            error_body("not_found", f"No API route matches {request.path}."),
            status=status.HTTP_404_NOT_FOUND,
        )
    return defaults.page_not_found(request, exception)


def server_error(request):
    """JSON 500 under /api/, Django's page elsewhere; the error itself is logged by Django."""
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side; it has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    return defaults.server_error(request)


def json_error(code: str, detail: str, status_code: int, **extra) -> Response:
    """A DRF response in the error shape, for views that refuse without raising."""
    return Response(error_body(code, detail, **extra), status=status_code)
