import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_token_auth_works_end_to_end(user):
    anonymous = APIClient()
    response = anonymous.post(
        "/api/auth/token/", {"username": "viewer", "password": "pw-viewer-123"}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]

    authed = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert authed.get("/api/events/").status_code == 200


def test_wrong_password_gets_a_json_error(user):
    response = APIClient().post(
        "/api/auth/token/", {"username": "viewer", "password": "nope"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert "Unable to log in" in str(response.json()["fields"])


def test_api_without_credentials_is_refused_with_json():
    response = APIClient().get("/api/events/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"] == "not_authenticated"


def test_bad_token_is_refused_with_json():
    response = APIClient(HTTP_AUTHORIZATION="Token nope").get("/api/events/")

    assert response.status_code == 401
    assert response.json() == {"error": "authentication_failed", "detail": "Invalid token."}


def test_anonymous_dashboard_redirects_to_login(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_logs_in_and_shows_the_dashboard(client, user):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b"Log in" in page.content

    response = client.post(
        "/accounts/login/", {"username": "viewer", "password": "pw-viewer-123"}, follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/"
    assert b"Log out viewer" in response.content


def test_unknown_api_route_answers_json_404(api_client):
    response = api_client.get("/api/nothing-here/")

    assert response.status_code == 404
    assert response.json() == {
        "error": "not_found",
        "detail": "No API route matches /api/nothing-here/.",
    }


def test_admin_is_served(client):
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-12345")
    client.login(username="root", password="pw-root-12345")

    assert client.get("/admin/").status_code == 200


def test_swagger_ui_and_schema_are_served(client):
    assert client.get("/doc").status_code == 200
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/hook/", "/api/events/", "/api/events/stats/", "/api/auth/token/"} <= set(paths)


def test_every_endpoint_has_a_summary(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    missing = [
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        for method, operation in operations.items()
        if not operation.get("summary")
    ]
    assert missing == []


def test_websocket_protocol_is_linked_from_the_api_description(client):
    schema = client.get("/api/schema/?format=json").json()
    assert "/doc/websocket.md" in schema["info"]["description"]

    doc = client.get("/doc/websocket.md")
    assert doc.status_code == 200
    assert b'"type": "snapshot"' in b"".join(doc.streaming_content)
    assert client.get("/doc/settings.py").status_code == 404
