"""Bad input gets a clear 4xx with a JSON reason, and nothing is stored."""

import json
from urllib.parse import urlencode

import httpx
import pytest

from events.models import EmailEvent
from tests.events.webhook_helpers import mandrill_event, post_json, post_mandrill

pytestmark = pytest.mark.django_db(transaction=True)


def test_oversized_body_gets_413_before_it_is_read(live_server_url):
    body = b"mandrill_events=" + b"x" * (5 * 1024 * 1024 + 1)

    response = httpx.post(
        f"{live_server_url}/api/hook/mandrill/",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert not EmailEvent.objects.exists()


def test_limit_is_configurable(client, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 100
    response = post_mandrill(client, [mandrill_event()])

    assert response.status_code == 413
    assert response.json()["limit"] == 100


def test_wrong_content_type_gets_415_naming_the_expected_one(client):
    response = post_json(client, "/api/hook/mandrill/", {"mandrill_events": []})

    assert response.status_code == 415
    assert "application/x-www-form-urlencoded" in response.json()["detail"]


def test_mandrill_events_that_are_not_json_get_400(client):
    response = client.post(
        "/api/hook/mandrill/",
        urlencode({"mandrill_events": "[{not json"}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert not EmailEvent.objects.exists()


def test_form_without_mandrill_events_gets_400(client):
    response = client.post(
        "/api/hook/mandrill/", "other=1", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert "mandrill_events" in response.json()["detail"]


def test_malformed_json_without_provider_gets_400(client):
    response = post_json(client, "/api/hook/", "{broken")

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


def test_body_no_provider_recognises_gets_400_listing_providers(client):
    response = post_json(client, "/api/hook/", {"hello": "world"})

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "unknown_provider"
    assert "mandrill" in body["providers"]
    assert "mandrill" in body["detail"]


def test_unknown_provider_slug_gets_404(client):
    response = post_json(client, "/api/hook/hotmail/", [])

    assert response.status_code == 404
    assert response.json()["error"] == "unknown_provider"


def test_nul_characters_and_overlong_fields_are_stored_cleaned(client):
    event = mandrill_event(email="nul\x00@example.com" + "x" * 400, message_id="m\x00")
    event["msg"]["subject"] = "bad\x00subject"

    response = post_mandrill(client, [event])

    assert response.status_code == 200, response.content
    row = EmailEvent.objects.get()
    assert row.recipient.startswith("nul@example.com")
    assert len(row.recipient) == 320
    assert row.message_id == "m"
    assert row.raw["msg"]["subject"] == "badsubject"


def test_non_object_events_in_a_batch_get_400_and_store_nothing(client):
    params = {"mandrill_events": json.dumps([mandrill_event(), "not an event"])}
    response = client.post(
        "/api/hook/mandrill/", urlencode(params), content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert not EmailEvent.objects.exists()
