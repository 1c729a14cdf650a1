"""The error answers every API operation can give, added to the schema in one place.

Views document their own successes and the refusals particular to them; what any operation
may answer (the authorization matrix, validation, limits) is added here to each operation
that can meet it, in the shared error shape `{"error", "detail", ...}` (config.api_errors).
"""

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
    "required": ["error", "detail"],
}
METHODS = ("get", "put", "patch", "post", "delete")


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def _throttled(generator) -> set[tuple[str, str]]:
    """(path, method) of the views with a throttle_scope (they may answer 429)."""
    return {
        (path, method.lower())
        for path, _, method, callback in generator.endpoints or []
        if getattr(getattr(callback, "cls", None), "throttle_scope", None)
    }


def _errors_of(operation: dict) -> dict[int, str]:
    errors: dict[int, str] = {}
    parameters = operation.get("parameters", [])
    if "requestBody" in operation or any(p["in"] == "query" for p in parameters):
        errors[400] = "Invalid input; `fields` says which and why"
    if operation.get("security") != [{}]:
        errors[401] = "Not authenticated"
        errors[403] = "Authenticated, but not allowed (staff only)"
    if any(p["in"] == "path" for p in parameters):
        errors[404] = "No such object"
    if any(p["in"] == "query" and p["name"] in ("page", "cursor") for p in parameters):
        errors[404] = "No such page: `page` out of range, or a `cursor` this API did not give"
    if "requestBody" in operation:
        errors[413] = "The body is over the size limit"
        errors[415] = "Unsupported content type"
    return errors


def add_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS)."""
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault("Error", ERROR_SCHEMA)
    throttled = _throttled(generator)
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method in METHODS:
            if operation := item.get(method):
                errors = _errors_of(operation)
                if (path, method) in throttled:
                    errors[429] = "Too many attempts; retry after Retry-After seconds"
                responses = operation.setdefault("responses", {})
                for status, description in errors.items():
                    responses.setdefault(str(status), _error(description))
    return result
