"""Security headers, login throttling, CSRF on every form, and the production settings."""

import json
import re

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from config.auth_views import failure_key
from tests.config.test_deploy_and_logging import PRODUCTION_ENV, _manage
from tests.security.test_authorization_matrix import ROUTES, _request

pytestmark = pytest.mark.django_db

# --- headers


def _assert_security_headers(response) -> None:
    csp = {
        directive.split()[0]: directive.split()[1:]
        for directive in response["Content-Security-Policy"].split("; ")
    }
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert set(csp["connect-src"]) == {"'self'", "ws:", "wss:"}
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=()" in response["Permissions-Policy"]


def test_a_page_carries_the_security_headers(client):
    _assert_security_headers(client.get("/accounts/login/"))


def test_an_api_response_carries_the_security_headers(api_client):
    _assert_security_headers(api_client.get("/api/events/"))
    _assert_security_headers(APIClient().get("/api/events/"))  # a 401 too


def test_the_dashboard_carries_the_security_headers(client, user):
    client.force_login(user)
    _assert_security_headers(client.get("/"))


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> block"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_templates_have_nothing_inline_the_policy_would_refuse():
    found = []
    for template in sorted((settings.BASE_DIR / "templates").rglob("*.html")):
        text = template.read_text()
        for pattern, what in INLINE:
            if pattern.search(text):
                found.append(f"{template.name}: {what}")
    assert found == []


def test_api_documentation_loads_its_init_script_from_a_file(client):
    page = client.get("/doc")
    script = re.search(rb'<script src="([^"]*script[^"]*)"', page.content)

    assert b"<script>" not in page.content
    assert script, page.content
    response = client.get(script.group(1).decode().replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")


# --- login throttling on the page


def _log_in(client, password: str, username: str = "viewer", path="/accounts/login/", **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def test_the_login_page_refuses_after_repeated_failures(client, user, settings):
    limit = settings.LOGIN_FAILURE_LIMIT
    for _ in range(limit):
        assert _log_in(client, "wrong").status_code == 200

    refused = _log_in(client, "pw-viewer-123")  # even the right password, now

    assert refused.status_code == 429
    assert b"Too many failed logins" in refused.content
    assert "_auth_user_id" not in client.session
    # Another username from the same address, and the same one from elsewhere, still log in.
    assert _log_in(Client(), "nope", username="someone-else").status_code == 200
    elsewhere = _log_in(Client(REMOTE_ADDR="10.9.8.7"), "pw-viewer-123")
    assert elsewhere.status_code == 302


def test_the_lock_ends_with_its_window(client, user):
    from django.core.cache import cache

    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        _log_in(client, "wrong")
    assert _log_in(client, "pw-viewer-123").status_code == 429

    cache.delete(failure_key("viewer", "127.0.0.1"))  # as when the window expires

    assert _log_in(client, "pw-viewer-123").status_code == 302


def test_a_successful_login_clears_the_failures(client, user):
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        _log_in(client, "wrong")
    assert _log_in(client, "pw-viewer-123").status_code == 302
    client.logout()

    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert _log_in(client, "wrong").status_code == 200
    assert _log_in(client, "pw-viewer-123").status_code == 302


def test_usernames_differing_in_case_share_one_count(client, user):
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        _log_in(client, "wrong", username="VIEWER" if n % 2 else "viewer")

    assert _log_in(client, "pw-viewer-123").status_code == 429


def test_the_admin_login_is_throttled_too(client, staff_user):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert _log_in(client, "wrong", username="ops", path="/admin/login/").status_code == 200

    refused = _log_in(client, "pw-ops-12345", username="ops", path="/admin/login/")

    assert refused.status_code == 429
    assert b"Too many failed logins" in refused.content
    assert client.get("/admin/").status_code == 302


def test_the_admin_login_still_logs_staff_in(client, staff_user):
    response = _log_in(client, "pw-ops-12345", username="ops", path="/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


# --- login throttling on the token endpoint


def test_the_token_endpoint_is_throttled(user):
    client = APIClient()
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    for _ in range(limit):
        response = client.post("/api/auth/token/", {"username": "viewer", "password": "no"})
        assert response.status_code == 400

    refused = client.post("/api/auth/token/", {"username": "viewer", "password": "pw-viewer-123"})

    assert refused.status_code == 429
    assert refused.json()["error"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    # Only the token endpoint is throttled.
    assert APIClient().get("/api/events/").status_code == 401


# --- CSRF


PAGE_FORMS = [
    action
    for action in ROUTES
    if action.method == "POST" and not action.api and action.name != "unsubscribe"
]


@pytest.mark.parametrize("action", PAGE_FORMS, ids=str)
def test_every_page_form_needs_the_csrf_token(action, world, staff_user):
    client = Client(enforce_csrf_checks=True)
    if action.name != "login":
        client.force_login(staff_user)

    response = _request(client, action, world)

    assert response.status_code == 403, f"{action}: {response.status_code}"
    assert b"CSRF" in response.content


def test_a_form_with_its_token_is_accepted(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    client.get("/audience/subscribers/new/")

    response = client.post(
        "/audience/subscribers/new/",
        {"email": "csrf@example.com", "csrfmiddlewaretoken": client.cookies["csrftoken"].value},
    )

    assert response.status_code in (200, 302)
    assert b"CSRF" not in response.content


def test_the_login_form_needs_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)

    assert _log_in(client, "pw-viewer-123").status_code == 403
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/accounts/login/",
        {"username": "viewer", "password": "pw-viewer-123", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


def test_the_api_with_a_session_needs_the_csrf_token(staff_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff_user)

    response = client.post("/api/subscribers/", {"email": "a@example.com"}, format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


# --- production settings

PRINT_SETTINGS = """
import json
from django.conf import settings
from django.test import Client
names = ["SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
         "CSRF_COOKIE_SECURE", "CSRF_COOKIE_HTTPONLY", "CSRF_COOKIE_SAMESITE",
         "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_CONTENT_TYPE_NOSNIFF",
         "SECURE_REFERRER_POLICY", "X_FRAME_OPTIONS", "DEBUG", "CONTENT_SECURITY_POLICY"]
response = Client(HTTP_HOST="mail.example.com").get("/accounts/login/", secure=True)
cookie = response.cookies["csrftoken"]
print(json.dumps({
    "settings": {name: getattr(settings, name) for name in names},
    "csrf_cookie": {"secure": bool(cookie["secure"]), "httponly": bool(cookie["httponly"]),
                    "samesite": cookie["samesite"]},
    "status": response.status_code,
    "headers": dict(response.headers),
}))
"""


def test_production_cookies_are_secure_and_the_session_is_http_only(tmp_path):
    # Production serves hashed static files: collect them first, as a deployment does.
    env = {**PRODUCTION_ENV, "STATIC_ROOT": str(tmp_path)}
    assert _manage("collectstatic", "--noinput", "-v", "0", **env).returncode == 0
    result = _manage("shell", "-c", PRINT_SETTINGS, **env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    values = shown["settings"]

    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    # Readable by scripts on purpose (Django's advice: the CSRF cookie is not a credential).
    assert values["CSRF_COOKIE_HTTPONLY"] is False
    assert values["SESSION_COOKIE_SAMESITE"] == values["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert "frame-ancestors 'none'" in values["CONTENT_SECURITY_POLICY"]
    assert shown["status"] == 200
    assert shown["csrf_cookie"] == {"secure": True, "httponly": False, "samesite": "Lax"}
    assert "frame-ancestors 'none'" in shown["headers"]["Content-Security-Policy"]
    assert "max-age=31536000" in shown["headers"]["Strict-Transport-Security"]
