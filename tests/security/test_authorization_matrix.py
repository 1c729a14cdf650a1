"""Who may do what, for every page, API endpoint and the websocket (README: "Staff users create
and send; other signed-in users only read (403 on writes)").

ROUTES declares, for every route the URL resolver knows, each action and who may do it:
  public: anyone (webhooks, health, login, unsubscribe links, the API documentation);
  read:   any signed-in user; anonymous visitors go to the login page (pages) or get 401 (API);
  staff:  staff only; other signed-in users get 403.
A route added without an entry here fails test_every_route_is_in_the_matrix.
"""

from dataclasses import dataclass

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token


@dataclass(frozen=True)
class Action:
    name: str  # the URL name
    method: str
    path: str  # formatted with the world's ids
    access: str  # public, read or staff

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _crud(name: str, base: str, extra: tuple[Action, ...] = ()) -> list[Action]:
    """A DRF ModelViewSet: list and retrieve are read; create, update, delete are staff."""
    item = f"{base}{{{name}}}/"
    return [
        Action(f"api-{name}-list", "GET", base, "read"),
        Action(f"api-{name}-list", "POST", base, "staff"),
        Action(f"api-{name}-detail", "GET", item, "read"),
        Action(f"api-{name}-detail", "PUT", item, "staff"),
        Action(f"api-{name}-detail", "PATCH", item, "staff"),
        Action(f"api-{name}-detail", "DELETE", item, "staff"),
        *extra,
    ]


ROUTES: list[Action] = [
    # --- public by design
    Action("healthz", "GET", "/healthz", "public"),
    Action("login", "GET", "/accounts/login/", "public"),
    Action("login", "POST", "/accounts/login/", "public"),
    Action("logout", "POST", "/accounts/logout/", "public"),
    Action("password_reset", "GET", "/accounts/password_reset/", "public"),
    Action("password_reset_done", "GET", "/accounts/password_reset/done/", "public"),
    Action("password_reset_confirm", "GET", "/accounts/reset/MQ/bad-token/", "public"),
    Action("password_reset_complete", "GET", "/accounts/reset/done/", "public"),
    Action("api-token", "POST", "/api/auth/token/", "public"),
    Action("schema", "GET", "/api/schema/", "public"),
    Action("doc", "GET", "/doc", "public"),
    Action("published-doc", "GET", "/doc/websocket.md", "public"),
    Action("webhook", "GET", "/api/hook/", "public"),
    Action("webhook", "POST", "/api/hook/", "public"),
    Action("webhook-provider", "GET", "/api/hook/mandrill/", "public"),
    Action("webhook-provider", "POST", "/api/hook/mandrill/", "public"),
    Action("unsubscribe", "GET", "/unsubscribe/{token}/", "public"),
    Action("unsubscribe", "POST", "/unsubscribe/{token}/", "public"),
    # --- pages
    Action("password_change", "GET", "/accounts/password_change/", "read"),
    Action("password_change_done", "GET", "/accounts/password_change/done/", "read"),
    Action("dashboard", "GET", "/", "read"),
    Action("message-timeline", "GET", "/messages/{message_id}/", "read"),
    Action("campaign-list", "GET", "/campaigns/", "read"),
    Action("campaign-create", "GET", "/campaigns/new/", "staff"),
    Action("campaign-create", "POST", "/campaigns/new/", "staff"),
    Action("campaign-detail", "GET", "/campaigns/{campaign}/", "read"),
    Action("campaign-edit", "GET", "/campaigns/{campaign}/edit/", "staff"),
    Action("campaign-edit", "POST", "/campaigns/{campaign}/edit/", "staff"),
    Action("campaign-test", "POST", "/campaigns/{campaign}/test/", "staff"),
    Action("campaign-action", "POST", "/campaigns/{campaign}/send/", "staff"),
    Action("campaign-action", "POST", "/campaigns/{campaign}/pause/", "staff"),
    Action("campaign-action", "POST", "/campaigns/{campaign}/cancel/", "staff"),
    Action("subscriber-list", "GET", "/audience/subscribers/", "read"),
    Action("subscriber-create", "GET", "/audience/subscribers/new/", "staff"),
    Action("subscriber-create", "POST", "/audience/subscribers/new/", "staff"),
    Action("subscriber-detail", "GET", "/audience/subscribers/{subscriber}/", "read"),
    Action("subscriber-detail", "POST", "/audience/subscribers/{subscriber}/", "staff"),
    Action("subscriber-delete", "POST", "/audience/subscribers/{subscriber}/delete/", "staff"),
    Action("list-index", "GET", "/audience/lists/", "read"),
    Action("list-index", "POST", "/audience/lists/", "staff"),
    Action("list-detail", "GET", "/audience/lists/{list}/", "read"),
    Action("list-detail", "POST", "/audience/lists/{list}/", "staff"),
    Action(
        "list-member-remove",
        "POST",
        "/audience/lists/{list}/members/{subscriber}/remove/",
        "staff",
    ),
    Action("segment-index", "GET", "/audience/segments/", "read"),
    Action("segment-create", "GET", "/audience/segments/new/", "staff"),
    Action("segment-create", "POST", "/audience/segments/new/", "staff"),
    Action("segment-edit", "GET", "/audience/segments/{segment}/", "read"),
    Action("segment-edit", "POST", "/audience/segments/{segment}/", "staff"),
    Action("segment-delete", "POST", "/audience/segments/{segment}/delete/", "staff"),
    Action("import-new", "GET", "/audience/imports/new/", "staff"),
    Action("import-new", "POST", "/audience/imports/new/", "staff"),
    Action("import-detail", "GET", "/audience/imports/{import}/", "read"),
    Action("import-detail", "POST", "/audience/imports/{import}/", "staff"),
    Action("suppression-index", "GET", "/audience/suppressions/", "read"),
    Action("suppression-index", "POST", "/audience/suppressions/", "staff"),
    Action("suppression-delete", "POST", "/audience/suppressions/{suppression}/delete/", "staff"),
    Action("provider-index", "GET", "/settings/providers/", "read"),
    Action("provider-create", "GET", "/settings/providers/new/", "staff"),
    Action("provider-create", "POST", "/settings/providers/new/", "staff"),
    Action("provider-edit", "GET", "/settings/providers/{provider}/", "staff"),
    Action("provider-edit", "POST", "/settings/providers/{provider}/", "staff"),
    Action("provider-delete", "POST", "/settings/providers/{provider}/delete/", "staff"),
    Action("provider-clear", "POST", "/settings/providers/{provider}/clear/", "staff"),
    # --- API: events (read only)
    Action("event-list", "GET", "/api/events/", "read"),
    Action("event-live", "GET", "/api/events/live/", "read"),
    Action("event-stats", "GET", "/api/events/stats/", "read"),
    # Every recipient address of a time range: staff only.
    Action("event-export", "GET", "/api/events/export/?format=csv&since=2026-01-01", "staff"),
    Action("event-detail", "GET", "/api/events/{event}/", "read"),
    Action("timeline", "GET", "/api/messages/{message_id}/events/", "read"),
    # --- API: audience, campaigns, providers
    *_crud("subscriber", "/api/subscribers/"),
    *_crud(
        "list",
        "/api/lists/",
        (
            Action("api-list-export", "GET", "/api/lists/{list}/export/", "read"),
            Action("api-list-members-add", "POST", "/api/lists/{list}/members/add/", "staff"),
            Action("api-list-members-remove", "POST", "/api/lists/{list}/members/remove/", "staff"),
        ),
    ),
    *_crud(
        "segment",
        "/api/segments/",
        (
            Action("api-segment-count", "GET", "/api/segments/{segment}/count/", "read"),
            Action("api-segment-export", "GET", "/api/segments/{segment}/export/", "read"),
            # Counting a draft's rules changes nothing: any signed-in user may.
            Action("api-segment-preview-count", "POST", "/api/segments/preview-count/", "read"),
        ),
    ),
    Action("api-import-list", "GET", "/api/imports/", "read"),
    Action("api-import-list", "POST", "/api/imports/", "staff"),
    Action("api-import-detail", "GET", "/api/imports/{import}/", "read"),
    Action("api-import-errors", "GET", "/api/imports/{import}/errors/", "read"),
    Action("api-import-start", "POST", "/api/imports/{import}/start/", "staff"),
    *_crud("suppression", "/api/suppressions/"),
    *_crud(
        "campaign",
        "/api/campaigns/",
        (
            Action("api-campaign-cost", "GET", "/api/campaigns/{campaign}/cost/", "read"),
            Action("api-campaign-preview", "GET", "/api/campaigns/{campaign}/preview/", "read"),
            Action("api-campaign-send", "POST", "/api/campaigns/{campaign}/send/", "staff"),
            Action("api-campaign-pause", "POST", "/api/campaigns/{campaign}/pause/", "staff"),
            Action("api-campaign-resume", "POST", "/api/campaigns/{campaign}/resume/", "staff"),
            Action("api-campaign-cancel", "POST", "/api/campaigns/{campaign}/cancel/", "staff"),
            Action(
                "api-campaign-retry-failed",
                "POST",
                "/api/campaigns/{campaign}/retry-failed/",
                "staff",
            ),
            Action("api-campaign-test", "POST", "/api/campaigns/{campaign}/test/", "staff"),
        ),
    ),
    Action("api-message-list", "GET", "/api/messages/", "read"),
    Action("api-message-detail", "GET", "/api/messages/{message}/", "read"),
    *_crud(
        "provider",
        "/api/providers/",
        (Action("api-provider-clear", "POST", "/api/providers/{provider}/clear/", "staff"),),
    ),
]

# Routes checked by test_admin_* below rather than by the table (the admin's own URLs).
ADMIN_PREFIX = "admin/"
# Routes opened by a credential of their own, never by a user: GET /metrics (METRICS_TOKEN),
# refusals covered by tests/config/test_metrics.py.
OWN_CREDENTIAL_ROUTES = {"metrics"}


def _route_names(patterns, prefix: str = "") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if prefix + str(pattern.pattern) == ADMIN_PREFIX:
                continue
            names |= _route_names(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            if prefix + str(pattern.pattern) == "admin/login/":
                continue  # the admin's login, checked with the admin
            names.add(pattern.name)
    return names


def test_every_route_is_in_the_matrix():
    declared = {action.name for action in ROUTES} | OWN_CREDENTIAL_ROUTES
    resolved = _route_names(get_resolver().url_patterns)

    assert resolved - declared == set(), "routes without an authorization entry"
    assert declared - resolved == set(), "entries for routes that do not exist"


def _request(client: Client, action: Action, world: dict):
    path = action.path.format(**world)
    method = getattr(client, action.method.lower())
    if action.method in ("GET", "DELETE"):
        return method(path)
    if action.api:
        return method(path, "{}", content_type="application/json")
    return method(path, {})


def _client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def _assert_allowed(response, action: Action, who: str) -> None:
    assert response.status_code < 500, f"{who} {action}: {response.status_code}"
    assert response.status_code not in (401, 403), f"{who} {action} refused"
    if action.name != "logout":  # logging out lands on the login page
        assert not _is_login_redirect(response), f"{who} {action} sent to the login page"
    if action.method == "GET" and action.access != "public":
        assert response.status_code == 200, f"{who} {action}: {response.status_code}"


def _assert_refused_to_anonymous(response, action: Action) -> None:
    if action.api:
        assert response.status_code == 401, f"anonymous {action}: {response.status_code}"
        assert response.json()["error"] == "not_authenticated"
    else:
        assert _is_login_redirect(response), f"anonymous {action}: {response.status_code}"


@pytest.mark.parametrize("action", ROUTES, ids=str)
def test_authorization(action: Action, world, user, staff_user):
    anonymous = _request(_client_for(None), action, world)
    if action.access == "public":
        _assert_allowed(anonymous, action, "anonymous")
    else:
        _assert_refused_to_anonymous(anonymous, action)

    viewer = _request(_client_for(user), action, world)
    if action.access == "staff":
        assert viewer.status_code == 403, f"viewer {action}: {viewer.status_code}"
    else:
        _assert_allowed(viewer, action, "viewer")

    # Staff last: its writes may change the world.
    _assert_allowed(_request(_client_for(staff_user), action, world), action, "staff")


def test_api_token_gives_the_same_rights_as_the_session(world, user, staff_user):
    viewer = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    staff = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_user).key}")
    body = {"email": "new@example.com"}

    def create(client) -> int:
        return client.post("/api/subscribers/", body, content_type="application/json").status_code

    assert viewer.get("/api/subscribers/").status_code == 200
    assert create(viewer) == 403
    assert create(staff) == 201


# --- the admin: staff with the model permission (here a superuser) only


def test_admin_refuses_anonymous_and_viewers_and_serves_superusers(world, user, staff_user):
    change = f"/admin/events/emailevent/{world['event']}/change/"
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-12345")

    for who in (None, user):
        for path in ("/admin/", change):
            response = _client_for(who).get(path)
            assert response.status_code == 302, (who, path)
            assert response["Location"].startswith("/admin/login/")
    # Staff without model permissions sees the index but not the events.
    assert _client_for(staff_user).get("/admin/").status_code == 200
    assert _client_for(staff_user).get(change).status_code == 403
    assert _client_for(root).get(change).status_code == 200


# --- the websocket: any signed-in user (it only reads); anonymous refused with 4401

ORIGIN = (b"origin", b"http://localhost")


async def _ws_connect(headers) -> tuple[bool, int | None]:
    from config.asgi import application

    communicator = WebsocketCommunicator(application, "/ws/email/", headers=[ORIGIN, *headers])
    connected, code = await communicator.connect()
    if connected:
        await communicator.disconnect()
    return connected, code


@pytest.mark.django_db(transaction=True)
async def test_websocket_refuses_anonymous_and_accepts_viewers_and_staff():
    from asgiref.sync import sync_to_async

    @sync_to_async
    def tokens() -> tuple[str, str]:
        users = get_user_model().objects
        viewer = users.create_user("ws-viewer", password="pw-viewer-123")
        staff = users.create_user("ws-staff", password="pw-ops-12345", is_staff=True)
        return Token.objects.create(user=viewer).key, Token.objects.create(user=staff).key

    viewer_token, staff_token = await tokens()

    assert await _ws_connect([]) == (False, 4401)
    assert (await _ws_connect([(b"authorization", b"Token not-a-token")]))[0] is False
    for key in (viewer_token, staff_token):
        connected, _ = await _ws_connect([(b"authorization", f"Token {key}".encode())])
        assert connected


@pytest.mark.django_db(transaction=True)
async def test_websocket_accepts_a_session_cookie():
    from asgiref.sync import sync_to_async

    @sync_to_async
    def session_cookie() -> bytes:
        user = get_user_model().objects.create_user("ws-session", password="pw-viewer-123")
        client = Client()
        client.force_login(user)
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    connected, _ = await _ws_connect([(b"cookie", await session_cookie())])
    assert connected
