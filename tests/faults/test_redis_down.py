"""Redis down (issue 8, fault 2): webhooks still commit and answer 2xx; dashboards are told
the live data is paused rather than left showing stale numbers; when Redis is back the live
view is rebuilt from PostgreSQL (once, by one server) and every dashboard resyncs.

A real Redis of the test's own is stopped and started under live daphne servers, with
websocket clients and with a real browser."""

import json
import re

import httpx
import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from websockets.sync.client import ClientConnection, connect

from events.models import EmailEvent
from tests.e2e.conftest import log_in
from tests.events.webhook_helpers import mandrill_event

pytestmark = pytest.mark.django_db(transaction=True)

FRAME_TIMEOUT_S = 30


def _post(server, *events: dict) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/hook/mandrill/",
        data={"mandrill_events": json.dumps(list(events))},
        timeout=30,
    )


def _token() -> str:
    user = get_user_model().objects.create_user("ops", password="pw-ops-12345")
    return Token.objects.create(user=user).key


def _dashboard(server, token: str) -> ClientConnection:
    return connect(
        server.url.replace("http://", "ws://") + "/ws/email/",
        origin=server.url,
        additional_headers={"Authorization": f"Token {token}"},
    )


def _next_frame(socket: ClientConnection, frame_type: str, **expected) -> dict:
    """The next frame of `frame_type` (with `expected` keys), skipping any others: a server
    waiting for another's rebuild says so in a status frame of its own."""
    while True:
        frame = json.loads(socket.recv(timeout=FRAME_TIMEOUT_S))
        if frame["type"] == frame_type and expected.items() <= frame.items():
            return frame


def test_dashboards_pause_while_redis_is_down_and_resync_with_what_they_missed(
    daphne_factory, redis_server
):
    servers = [
        daphne_factory(REDIS_URL=redis_server.url, LIVE_HEALTH_PROBE_INTERVAL_S="0.5")
        for _ in range(2)
    ]
    token = _token()
    assert _post(servers[0], mandrill_event("delivered", message_id="before")).status_code == 200

    with _dashboard(servers[0], token) as first, _dashboard(servers[1], token) as second:
        for socket in (first, second):
            assert _next_frame(socket, "snapshot")["counters"]["types"] == {"delivered": 1}

        redis_server.stop()
        during = _post(
            servers[1],
            mandrill_event("hard_bounce", message_id="during-1"),
            mandrill_event("hard_bounce", message_id="during-2", email="bob@example.com"),
        )

        assert during.status_code == 200
        assert during.json()["stored"] == 2
        assert EmailEvent.objects.filter(message_id__startswith="during").count() == 2
        for socket in (first, second):
            status = _next_frame(socket, "status")
            assert (status["state"], status["reason"]) == ("degraded", "redis_unavailable")
            assert "Redis unavailable" in status["detail"]

        redis_server.start()

        for socket in (first, second):
            _next_frame(socket, "status", state="live")
            snapshot = _next_frame(socket, "snapshot")
            assert snapshot["counters"]["types"] == {"delivered": 1, "bounced": 2}
            assert {e["message_id"] for e in snapshot["events"]} == {
                "before",
                "during-1",
                "during-2",
            }

        # Live again on both servers (each subscribed to the channel layer anew).
        assert _post(servers[0], mandrill_event("open", message_id="after")).status_code == 200
        for socket in (first, second):
            frame = _next_frame(socket, "events")
            assert [e["message_id"] for e in frame["events"]] == ["after"]

    rebuilds = sum(
        len(re.findall("live view rebuilt after a Redis outage", s.output())) for s in servers
    )
    assert rebuilds == 1


def test_dashboard_page_shows_paused_banner_until_redis_is_back(
    start_server, redis_server, oncall, page
):
    server = start_server(REDIS_URL=redis_server.url, LIVE_HEALTH_PROBE_INTERVAL_S="0.5")
    log_in(page, server)
    banner = page.locator("#live-paused")
    page.locator('#connection[data-state="live"]').wait_for(timeout=20_000)

    redis_server.stop()

    banner.wait_for(state="visible", timeout=20_000)
    assert "Redis unavailable" in banner.inner_text()
    assert page.locator("body").get_attribute("data-live") == "degraded"

    redis_server.start()

    banner.wait_for(state="hidden", timeout=30_000)
    page.locator('#connection[data-state="live"]').wait_for(timeout=20_000)
