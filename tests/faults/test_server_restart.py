"""The ASGI server restarted under 50 dashboards (issue 8, fault 3): each reconnects by itself
and, through its resume cursor, ends with every event posted meanwhile, none missing and none
twice. Webhooks keep arriving the whole time (at another server while this one is down); one
real page in Chromium proves the product's own client (static/js/live.js) does the same."""

import threading

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect
from rest_framework.authtoken.models import Token

from events.models import EmailEvent
from tests.e2e.conftest import _orm_beside_playwright, event, log_in, post_events  # noqa: F401
from tests.live_dashboards import LiveDashboards
from tests.servers import wait_until

pytestmark = pytest.mark.e2e

DASHBOARDS = 50
POST_EVERY_S = 0.2
FEED_MAX_ROWS = 200  # the page keeps the newest 200 (static/js/dashboard.js)
RECONNECT_WITHIN_S = 60


class Poster:
    """Posts a signed webhook of two events every POST_EVERY_S to the server it is given."""

    def __init__(self, server) -> None:
        self.server = server
        self.batches = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._post, daemon=True)

    def _post(self) -> None:
        while not self._stop.wait(POST_EVERY_S):
            n = self.batches
            post_events(
                self.server,
                [event("delivered", f"r{n}-{i}@example.com", f"m-{n}-{i}") for i in range(2)],
            )
            self.batches += 1

    def __enter__(self) -> "Poster":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(30)


def viewer_tokens(count: int) -> list[str]:
    """API tokens of `count` users, one dashboard each."""
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"viewer{n}") for n in range(count)
    )
    tokens = Token.objects.bulk_create(Token(user=u, key=Token.generate_key()) for u in users)
    return [token.key for token in tokens]


def all_ids() -> set[int]:
    return set(EmailEvent.objects.values_list("id", flat=True))


def test_fifty_dashboards_and_a_page_resume_after_a_server_restart_missing_nothing(
    start_server, oncall, page
):
    # A one-event snapshot: what a dashboard shows after reconnecting came from its resume.
    server = start_server(LIVE_SNAPSHOT_EVENTS="1")
    other = start_server()  # same database and Redis: takes the webhooks while `server` is down
    log_in(page, server)
    expect(page.locator("#connection")).to_have_text("Live")
    dashboards = LiveDashboards([server.url], viewer_tokens(DASHBOARDS)).start()
    post_events(server, [event("delivered", "before@example.com", "m-before")])
    dashboards.wait_showing(all_ids())

    with Poster(other) as poster:
        wait_until(lambda: poster.batches >= 5, 30, "webhooks before the restart")
        server.stop()
        expect(page.locator("#connection")).to_contain_text("Reconnecting")
        start_server(port=server.port, LIVE_SNAPSHOT_EVENTS="1")
        wait_until(
            lambda: all(d.connections >= 2 and d.live for d in dashboards),
            RECONNECT_WITHIN_S,
            "every dashboard reconnected",
        )
        since = poster.batches
        wait_until(lambda: poster.batches >= since + 5, 30, "webhooks after the reconnect")

    posted = all_ids()
    assert len(posted) == 1 + 2 * poster.batches
    dashboards.wait_showing(posted)
    dashboards.stop()
    for dashboard in dashboards:
        assert sorted(dashboard.ids) == sorted(posted)
        assert dashboard.counters["types"] == {"delivered": len(posted)}
        assert dashboard.repeated == [], "a connection sent an event twice"
    expect(page.locator("#connection")).to_have_text("Live", timeout=RECONNECT_WITHIN_S * 1000)
    expect(page.locator('[data-counter="delivered"]')).to_have_text(str(len(posted)))
    rows = page.locator("#feed tbody tr")
    expect(rows).to_have_count(min(len(posted), FEED_MAX_ROWS))
    expect(rows.filter(has_text=f"r{poster.batches - 1}-1@example.com")).to_have_count(1)
    ids = [row.get_attribute("data-id") for row in rows.all()]
    assert len(ids) == len(set(ids)), "no event shown twice"
