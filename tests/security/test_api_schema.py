"""Every operation of /api/schema/, fuzzed by schemathesis in-process, as staff and as a
viewer: no 5xx, and every response matches the schema (status code and body).

The webhook receivers are included: the test settings configure no webhook secret, so their
fuzzed posts are parsed (and refused or stored) as unverified ones; signed posts are the
provider tests' business (tests/events/). Bounded (a few examples per operation, the same on
every run) so the file stays within a couple of minutes."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: a request must not close the test's database connection
    (and with it the transaction the test runs in)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=["staff", "viewer"])
def auth_headers(request, user, staff_user) -> dict:
    account = staff_user if request.param == "staff" else user
    return {"Authorization": f"Token {Token.objects.create(user=account).key}"}


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_its_schema_says(case, auth_headers, world):
    _address_real_objects(case, world)
    case.call_and_validate(headers=auth_headers, checks=CHECKS)


# The object each path's {id} names, so that numeric ids reach real objects (and their full
# answers are checked against the schema); other generated ids still test the 404s.
OBJECT_OF_PATH = {
    "campaigns": "campaign",
    "events": "event",
    "imports": "import",
    "lists": "list",
    "messages": "message",
    "providers": "provider",
    "segments": "segment",
    "subscribers": "subscriber",
    "suppressions": "suppression",
}


def _address_real_objects(case, world: dict) -> None:
    parameters = case.path_parameters or {}
    collection = case.operation.path.removeprefix("/api/").partition("/")[0]
    if isinstance(parameters.get("id"), int) and collection in OBJECT_OF_PATH:
        parameters["id"] = world[OBJECT_OF_PATH[collection]]
    if "message_id" in parameters:
        parameters["message_id"] = world["message_id"]
