import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LIVE_WITHIN_MS, event, log_in, post_events

pytestmark = pytest.mark.e2e


def feed_rows(page):
    return page.locator("#feed tbody tr")


def test_anonymous_visitor_logs_in_and_sees_the_snapshot(server, oncall, page):
    post_events(
        server,
        [
            event("send", "ada@example.com", "m-1", seconds_ago=30),
            event("delivered", "ada@example.com", "m-1", seconds_ago=20),
            event("hard_bounce", "bob@example.com", "m-2", msg={"diag": "smtp;550 5.1.1 unknown"}),
        ],
    )

    page.goto(f"{server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    log_in(page, server)

    expect(page.locator("#connection")).to_have_text("Live")
    expect(page.locator('[data-counter="delivered"]')).to_have_text("1")
    expect(page.locator('[data-counter="bounced"]')).to_have_text("1")
    expect(page.locator('[data-rate="delivery"]')).to_have_text("100.0%")
    expect(feed_rows(page)).to_have_count(3)
    expect(feed_rows(page).first).to_contain_text("bob@example.com")
    expect(feed_rows(page).first).to_contain_text("smtp;550 5.1.1 unknown")


def test_a_posted_webhook_shows_up_live_within_two_seconds(server, oncall, page):
    log_in(page, server)
    expect(page.locator("#connection")).to_have_text("Live")
    expect(page.locator("#feed-empty")).to_be_visible()

    post_events(
        server, [event("click", "carol@example.com", "m-7", url="https://shop.example/sale")]
    )

    row = feed_rows(page).filter(has_text="carol@example.com")
    expect(row).to_be_visible(timeout=LIVE_WITHIN_MS)
    expect(row).to_contain_text("https://shop.example/sale")
    expect(page.locator('[data-counter="clicked"]')).to_have_text("1", timeout=LIVE_WITHIN_MS)
    expect(page.locator('[data-rate="per-minute"]')).to_have_text("1", timeout=LIVE_WITHIN_MS)


def test_filtering_by_type_hides_the_other_rows(server, oncall, page):
    post_events(
        server,
        [
            event("delivered", "dan@example.com", "m-1"),
            event("hard_bounce", "erin@example.com", "m-2"),
        ],
    )
    log_in(page, server)
    expect(feed_rows(page)).to_have_count(2)

    page.get_by_label("Type", exact=True).select_option("bounced")

    expect(feed_rows(page)).to_have_count(1)
    expect(feed_rows(page).first).to_contain_text("erin@example.com")
    post_events(
        server,
        [
            event("delivered", "fay@example.com", "m-3", seconds_ago=1),
            event("soft_bounce", "gus@example.com", "m-4", seconds_ago=1),
        ],
    )
    expect(feed_rows(page).filter(has_text="gus@example.com")).to_be_visible(timeout=LIVE_WITHIN_MS)
    expect(feed_rows(page)).to_have_count(2)
    expect(page.locator('[data-counter="delivered"]')).to_have_text("2")


def test_recipient_search_finds_an_older_event_from_history(start_server, oncall, page):
    server = start_server(LIVE_SNAPSHOT_EVENTS="5")
    post_events(server, [event("open", "old.timer@example.com", "m-old", seconds_ago=3600)])
    post_events(server, [event("delivered", f"r{i}@example.com", f"m-{i}") for i in range(10)])
    log_in(page, server)
    expect(feed_rows(page)).to_have_count(5)
    expect(feed_rows(page).filter(has_text="old.timer@example.com")).to_have_count(0)

    page.get_by_label("Recipient history").fill("Old.Timer@example.com")
    page.get_by_role("button", name="Search").click()

    results = page.locator("#search-results tbody tr")
    expect(page.get_by_role("heading", name="History of Old.Timer@example.com")).to_be_visible()
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("opened")
    expect(page.locator("#search-status")).to_have_text("1 events for Old.Timer@example.com.")


def test_a_row_opens_the_raw_payload_and_the_messages_timeline(server, oncall, page):
    post_events(
        server,
        [
            event("send", "hal@example.com", "m-9", seconds_ago=60),
            event("delivered", "hal@example.com", "m-9", seconds_ago=50),
            event("open", "hal@example.com", "m-9", seconds_ago=10, user_agent="Mozilla/5.0 Test"),
        ],
    )
    log_in(page, server)

    feed_rows(page).filter(has_text="opened").focus()
    page.keyboard.press("Enter")

    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#detail-raw")).to_contain_text('"event": "open"')
    steps = dialog.locator("#detail-timeline li")
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_contain_text("sent")
    expect(steps.nth(1)).to_contain_text("delivered")
    expect(steps.nth(2)).to_contain_text("opened (this event)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_provider_text_is_shown_as_text_never_as_html(server, oncall, page):
    hostile = '<img src=x id="injected">@example.com'
    post_events(server, [event("click", hostile, "m-x", url="javascript:alert(1)")])
    log_in(page, server)

    row = feed_rows(page).first
    expect(row.locator(".recipient")).to_have_text(hostile)
    expect(row.locator(".detail")).to_have_text("javascript:alert(1)")
    expect(page.locator("#injected")).to_have_count(0)


def test_pause_holds_new_rows_until_resumed(server, oncall, page):
    log_in(page, server)
    expect(page.locator("#connection")).to_have_text("Live")
    page.get_by_role("button", name="Pause").click()

    post_events(server, [event("delivered", "ivy@example.com", "m-5")])

    expect(page.get_by_role("button", name="Resume (1 new)")).to_be_visible(timeout=LIVE_WITHIN_MS)
    expect(feed_rows(page)).to_have_count(0)
    expect(page.locator('[data-counter="delivered"]')).to_have_text("1")
    page.get_by_role("button", name="Resume (1 new)").click()
    expect(feed_rows(page).filter(has_text="ivy@example.com")).to_be_visible()


def test_a_flood_is_sampled_in_the_feed_while_counters_stay_exact(start_server, oncall, page):
    server = start_server(WS_MAX_EVENTS_PER_FRAME="2")
    log_in(page, server)
    expect(page.locator("#connection")).to_have_text("Live")

    post_events(server, [event("delivered", f"flood{i}@example.com", f"f-{i}") for i in range(10)])

    banner = page.locator("#sampled-banner")
    expect(banner).to_contain_text("8 events not shown, counters exact", timeout=LIVE_WITHIN_MS)
    expect(page.locator('[data-counter="delivered"]')).to_have_text("10")
    expect(feed_rows(page)).to_have_count(2)


def test_the_chart_shows_the_chosen_time_range(server, oncall, page):
    post_events(
        server,
        [
            event("delivered", "recent@example.com", "r-1", seconds_ago=60),
            event("delivered", "earlier@example.com", "r-2", seconds_ago=40 * 60),
            event("delivered", "yesterday@example.com", "r-3", seconds_ago=20 * 3600),
        ],
    )
    log_in(page, server)
    summary = page.locator("#chart-summary")
    expect(summary).to_have_text("2 in range")

    page.get_by_text("15 min").click()
    expect(summary).to_have_text("1 in range")
    page.get_by_text("1 day").click()
    expect(summary).to_have_text("3 in range")
