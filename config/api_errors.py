"""Every API error is JSON of one shape: {"error": "<code>", "detail": "<message>", ...}."""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def error_body(code: str, detail: str, **extra) -> dict:
    """The one error shape used by every API response and webhook refusal."""
    return {"error": code, "detail": detail, **extra}


def exception_handler(exc, context):
    """Wraps DRF's handler so validation and auth errors share the product's error shape."""
    # DRF maps Django's own 404 and 403 itself; map them first so they get the shape too.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
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


def bad_request(request, exception=None):
    """Under /api/: a body over DATA_UPLOAD_MAX_MEMORY_SIZE (or with too many fields) is
    413 JSON, other refusals 400 JSON; Django's page elsewhere."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return JsonResponse(
            error_body("too_large", f"The body is larger than {limit} bytes.", limit=limit),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exception, TooManyFieldsSent):
        detail = f"At most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} form fields are accepted."
        return JsonResponse(
            error_body("too_large", detail), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    return JsonResponse(
        error_body("bad_request", "The request could not be read."),
        status=status.HTTP_400_BAD_REQUEST,
    )


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
