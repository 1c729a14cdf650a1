"""The providers REST API: who may do what, write-only credentials validated against the
kind, live state and quota in responses, the clear action, the schema; and quotas before
sending (a campaign's cost, 409 over_quota without confirm)."""

import pytest
from rest_framework.test import APIClient

from mailer.models import Campaign, ProviderAccount
from mailer.providers import state
from tests.mailer import factories
from tests.mailer.campaign_factories import campaign

pytestmark = pytest.mark.django_db

SECRET = "key-api-test-5f1c2e"


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    return factories.client_for(staff_user)


def payload(**fields) -> dict:
    return {
        "name": "Mailgun EU",
        "kind": "mailgun",
        "credentials": {"api_key": SECRET, "sender_domain": "mg.example.com"},
        "priority": 10,
        "rate_limit_per_s": 20,
        "daily_quota": 1000,
        **fields,
    }


def create(client, **fields) -> dict:
    response = client.post("/api/providers/", payload(**fields), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_anonymous_gets_401_and_viewer_reads_but_cannot_write(api_client, staff_client):
    account = create(staff_client)
    assert APIClient().get("/api/providers/").status_code == 401
    assert api_client.get("/api/providers/").status_code == 200
    assert api_client.get(f"/api/providers/{account['id']}/").status_code == 200
    assert api_client.post("/api/providers/", payload(name="x"), format="json").status_code == 403
    url = f"/api/providers/{account['id']}/"
    assert api_client.patch(url, {"enabled": False}, format="json").status_code == 403
    assert api_client.post(f"{url}clear/").status_code == 403
    assert api_client.delete(url).status_code == 403
    assert ProviderAccount.objects.filter(pk=account["id"], enabled=True).exists()


def test_create_stores_credentials_encrypted_and_never_returns_them(staff_client):
    body = create(staff_client)
    assert "credentials" not in body and "encrypted_credentials" not in body
    assert SECRET not in str(body)
    assert body["has_credentials"] is True
    assert body["state"]["status"] == "healthy"
    assert body["quota_left"] == body["state"]["quota_left"] == 1000
    account = ProviderAccount.objects.get(pk=body["id"])
    assert SECRET not in account.encrypted_credentials
    assert account.credentials == {"api_key": SECRET, "sender_domain": "mg.example.com"}


def test_list_is_in_sending_order_with_state(staff_client):
    create(staff_client, name="second", priority=20)
    create(staff_client, name="first", priority=5, daily_quota=None)
    create(staff_client, name="off", priority=1, enabled=False)
    rows = staff_client.get("/api/providers/").json()
    assert [(r["name"], r["state"]["status"], r["quota_left"]) for r in rows] == [
        ("off", "disabled", 1000),
        ("first", "healthy", None),
        ("second", "healthy", 1000),
    ]


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ({"api_key": "k", "password": "p"}, "Unknown credential field for mailgun: password"),
        ({"sender_domain": "mg.example.com"}, "Missing credential field: api_key"),
        ({"api_key": ""}, "Missing credential field: api_key"),
        ("not an object", "Credentials must be a JSON object"),
    ],
)
def test_credentials_are_validated_against_the_kind(staff_client, credentials, message):
    response = staff_client.post("/api/providers/", payload(credentials=credentials), format="json")
    assert response.status_code == 400
    errors = response.json()["fields"]["credentials"]
    assert any(message in error for error in errors), errors
    assert not ProviderAccount.objects.exists()


def test_credentials_are_required_on_create(staff_client):
    body = payload()
    del body["credentials"]
    response = staff_client.post("/api/providers/", body, format="json")
    assert response.status_code == 400
    assert "credentials" in response.json()["fields"]


def test_update_without_credentials_keeps_them_and_with_them_replaces(staff_client):
    account = create(staff_client)
    url = f"/api/providers/{account['id']}/"
    response = staff_client.patch(url, {"priority": 3, "enabled": False}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["priority"], response.json()["enabled"]) == (3, False)
    stored = ProviderAccount.objects.get(pk=account["id"])
    assert stored.credentials["api_key"] == SECRET

    response = staff_client.patch(url, {"credentials": {"api_key": "new-key"}}, format="json")
    assert response.status_code == 200
    assert "new-key" not in str(response.json())
    assert ProviderAccount.objects.get(pk=account["id"]).credentials == {"api_key": "new-key"}

    response = staff_client.patch(url, {"credentials": {"nope": "x"}}, format="json")
    assert response.status_code == 400


def test_changing_the_kind_needs_its_credentials(staff_client):
    account = create(staff_client)
    url = f"/api/providers/{account['id']}/"
    response = staff_client.patch(url, {"kind": "postmark"}, format="json")
    assert response.status_code == 400
    assert ProviderAccount.objects.get(pk=account["id"]).kind == "mailgun"
    fields = {"server_token": "pm-token"}
    response = staff_client.patch(url, {"kind": "postmark", "credentials": fields}, format="json")
    assert response.status_code == 200, response.json()
    assert ProviderAccount.objects.get(pk=account["id"]).credentials == fields


def test_duplicate_name_is_a_field_error(staff_client):
    create(staff_client)
    response = staff_client.post("/api/providers/", payload(), format="json")
    assert response.status_code == 400
    assert "name" in response.json()["fields"]


def test_delete(staff_client):
    account = create(staff_client)
    assert staff_client.delete(f"/api/providers/{account['id']}/").status_code == 204
    assert not ProviderAccount.objects.exists()


def test_clear_lets_a_misconfigured_account_be_tried_again(staff_client):
    from mailer.providers.base import Failure, Verdict

    body = create(staff_client)
    account = ProviderAccount.objects.get(pk=body["id"])
    state.record_failure(account, Failure(Verdict.MISCONFIGURED, "HTTP 401"), probe=False)
    url = f"/api/providers/{account.pk}/"
    assert staff_client.get(url).json()["state"]["status"] == "misconfigured"
    response = staff_client.post(f"{url}clear/")
    assert response.status_code == 200
    assert response.json()["state"]["status"] == "healthy"


def test_schema_documents_providers_with_write_only_credentials(staff_client):
    schema = staff_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert "/api/providers/" in paths and "/api/providers/{id}/clear/" in paths
    assert "/api/campaigns/{id}/cost/" in paths
    assert paths["/api/providers/"]["get"]["tags"] == ["providers"]
    assert paths["/api/providers/"]["post"]["summary"]
    components = schema["components"]["schemas"]
    assert "credentials" not in components["Provider"]["properties"]
    assert "credentials" in components["ProviderRequest"]["properties"]


# --- quotas before sending


def test_cost_and_send_over_quota_needs_confirm(staff_client):
    create(staff_client, daily_quota=2)
    members = [factories.subscriber() for _ in range(3)]
    target = campaign(lists=[factories.mailing_list(members=members)])
    cost = staff_client.get(f"/api/campaigns/{target.pk}/cost/").json()
    assert (cost["cost"], cost["quota_left"], cost["exceeds_quota"]) == (3, 2, True)
    assert [p["quota_left"] for p in cost["providers"]] == [2]

    response = staff_client.post(f"/api/campaigns/{target.pk}/send/", {}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert (body["error"], body["cost"], body["quota_left"]) == ("over_quota", 3, 2)
    assert "confirm" in body["detail"]
    target.refresh_from_db()
    assert target.status == Campaign.Status.DRAFT

    response = staff_client.post(
        f"/api/campaigns/{target.pk}/send/", {"confirm": True}, format="json"
    )
    assert response.status_code == 202, response.json()


def test_send_within_quota_needs_no_confirm(staff_client):
    create(staff_client, daily_quota=10)
    target = campaign(lists=[factories.mailing_list(members=[factories.subscriber()])])
    cost = staff_client.get(f"/api/campaigns/{target.pk}/cost/").json()
    assert (cost["cost"], cost["exceeds_quota"]) == (1, False)
    assert staff_client.post(f"/api/campaigns/{target.pk}/send/").status_code == 202


def test_cost_tells_when_no_provider_is_configured(api_client):
    target = campaign()
    cost = api_client.get(f"/api/campaigns/{target.pk}/cost/").json()
    assert cost["exceeds_quota"] is False
    assert any(
        n.startswith("No provider configured: mail goes through EMAIL_URL") for n in cost["notices"]
    )
