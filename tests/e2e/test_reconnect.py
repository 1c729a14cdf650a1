import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import event, log_in, post_events

pytestmark = pytest.mark.e2e

# Backoff after a restart may reach several seconds; the page must still come back by itself.
RECONNECT_WITHIN_MS = 30_000


def test_dashboard_resumes_after_server_restart_without_losing_or_doubling_events(
    start_server, oncall, page
):
    # A one-event snapshot: whatever else the page shows after the restart came from resume.
    first = start_server(LIVE_SNAPSHOT_EVENTS="1")
    other = start_server(LIVE_SNAPSHOT_EVENTS="1")  # same database and Redis, another port
    log_in(page, first)
    post_events(first, [event("delivered", "before@example.com", "m-0", seconds_ago=30)])
    rows = page.locator("#feed tbody tr")
    expect(rows).to_have_count(1)

    first.stop()
    expect(page.locator("#connection")).to_contain_text("Reconnecting")
    post_events(
        other,
        [
            event("delivered", f"away{i}@example.com", f"m-{i}", seconds_ago=20 - i)
            for i in range(3)
        ],
    )
    start_server(port=first.port, LIVE_SNAPSHOT_EVENTS="1")

    expect(page.locator("#connection")).to_have_text("Live", timeout=RECONNECT_WITHIN_MS)
    for i in range(3):
        expect(rows.filter(has_text=f"away{i}@example.com")).to_have_count(1)
    expect(rows).to_have_count(4)
    ids = [row.get_attribute("data-id") for row in rows.all()]
    assert len(set(ids)) == 4
    expect(page.locator('[data-counter="delivered"]')).to_have_text("4")

    post_events(other, [event("open", "after@example.com", "m-1", seconds_ago=1)])
    expect(rows.filter(has_text="after@example.com")).to_be_visible(timeout=2000)
    expect(rows).to_have_count(5)
