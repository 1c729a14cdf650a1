"""Property-based tests of every provider adapter, through /api/hook/<provider>/ and /api/hook/:
arbitrary JSON, arbitrary forms and arbitrary bytes under each content type, and valid payloads
with one part replaced by anything. Whatever comes in: never a 5xx, and either nothing stored
(any refusal) or exactly the events the answer counts (a 200), never part of a batch.

The webhooks run with no secret configured (as in the test settings), so every body reaches
the parsers instead of stopping at verification.
"""

import json
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.models import EmailEvent
from events.providers import ADAPTERS
from tests.events.signed_providers import (
    mailgun_body,
    mailgun_event_data,
    postmark_event,
    sendgrid_event,
    sparkpost_event,
)
from tests.events.test_brevo import brevo_event
from tests.events.test_mailjet import mailjet_event
from tests.events.test_resend import resend_event, svix_headers
from tests.events.webhook_helpers import mandrill_event

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PATHS = [f"/api/hook/{slug}/" for slug in ADAPTERS] + ["/api/hook/"]
CONTENT_TYPES = [
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=xyz",
    "application/octet-stream",
    "",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)

# Valid payloads of each provider, to be broken one part at a time.
BASES = {
    "mandrill": lambda: [mandrill_event(), mandrill_event("open", message_id="fz-2")],
    "mailgun": lambda: mailgun_body(mailgun_event_data(), None),
    "sendgrid": lambda: [sendgrid_event(), sendgrid_event("open", sg_event_id="fz-2")],
    "sparkpost": lambda: [sparkpost_event(), sparkpost_event("open", event_id="99")],
    "postmark": postmark_event,
    "brevo": brevo_event,
    "mailjet": lambda: [mailjet_event(), mailjet_event("open")],
    "resend": resend_event,
}


def _post(path: str, body: bytes, content_type: str, **headers):
    client = Client()
    before = EmailEvent.objects.count()
    response = client.generic("POST", path, body, content_type=content_type, **headers)
    stored = EmailEvent.objects.count() - before
    shown = body[:300]
    assert response.status_code < 500, (path, content_type, shown, response.content[:300])
    if response.status_code == 200:
        assert stored == response.json()["stored"], (path, content_type, shown)
    else:
        assert stored == 0, (path, content_type, shown, response.status_code)
    return response


@st.composite
def broken(draw, value):
    """`value` with one node (perhaps the whole) replaced, or one key or item dropped."""
    if isinstance(value, dict | list) and value and draw(st.booleans()):
        keys = list(value) if isinstance(value, dict) else list(range(len(value)))
        key = draw(st.sampled_from(keys))
        copy = dict(value) if isinstance(value, dict) else list(value)
        if draw(st.integers(0, 4)) == 0:
            del copy[key]
        else:
            copy[key] = draw(broken(copy[key]))
        return copy
    return draw(json_values)


@pytest.mark.parametrize("path", PATHS)
@FUZZ
@given(value=json_values)
def test_arbitrary_json(path, value):
    _post(path, json.dumps(value).encode(), "application/json", **svix_headers())


@pytest.mark.parametrize("path", PATHS)
@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(["mandrill_events", "event", "signature", "x"]) | st.text(max_size=10),
        st.text(max_size=40) | json_values.map(json.dumps),
        max_size=4,
    )
)
def test_arbitrary_form(path, fields):
    _post(path, urlencode(fields).encode(), "application/x-www-form-urlencoded")


@pytest.mark.parametrize("path", PATHS)
@FUZZ
@given(body=st.binary(max_size=300), content_type=st.sampled_from(CONTENT_TYPES))
def test_arbitrary_bytes(path, body, content_type):
    _post(path, body, content_type, **svix_headers())


@pytest.mark.parametrize("slug", sorted(BASES))
@pytest.mark.parametrize("named", [True, False], ids=["named", "detected"])
@FUZZ
@given(data=st.data())
def test_valid_payload_with_one_part_broken(slug, named, data):
    value = data.draw(broken(BASES[slug]()))
    path = f"/api/hook/{slug}/" if named else "/api/hook/"
    if slug == "mandrill":
        body = urlencode({"mandrill_events": json.dumps(value)}).encode()
        _post(path, body, "application/x-www-form-urlencoded")
    else:
        _post(path, json.dumps(value).encode(), "application/json", **svix_headers())


@pytest.mark.parametrize("slug", sorted(BASES))
def test_the_unbroken_payloads_are_stored(slug):
    """The bases are valid: the fuzzing above starts from payloads that store events."""
    value = BASES[slug]()
    if slug == "mandrill":
        body = urlencode({"mandrill_events": json.dumps(value)}).encode()
        response = _post(f"/api/hook/{slug}/", body, "application/x-www-form-urlencoded")
    else:
        response = _post(f"/api/hook/{slug}/", json.dumps(value).encode(), "application/json")
    assert response.status_code == 200, response.content
    assert response.json()["stored"] >= 1


@pytest.mark.parametrize("path", ["/api/hook/brevo/", "/api/hook/"])
def test_a_number_beyond_64_bits_is_kept_as_text(path):
    body = json.dumps(brevo_event(id=-(2**63) - 1)).encode()
    response = _post(path, body, "application/json")

    assert response.status_code == 200, response.content
    assert EmailEvent.objects.get().raw["id"] == str(-(2**63) - 1)
