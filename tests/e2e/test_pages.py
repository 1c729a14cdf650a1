import pytest
from playwright.sync_api import expect, sync_playwright

from mailer.models import Campaign
from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LIVE_WITHIN_MS,
    event,
    log_in,
    post_events,
)

pytestmark = pytest.mark.e2e


def campaign_event(kind: str, email: str, message_id: str, campaign: Campaign, **kwargs) -> dict:
    return event(kind, email, message_id, metadata={"campaign_id": str(campaign.id)}, **kwargs)


def test_campaign_list_says_when_there_are_none(server, oncall, page):
    log_in(page, server, "/campaigns/")

    expect(page.get_by_text("No campaigns yet")).to_be_visible()


def test_campaign_funnel_starts_from_the_stored_counts_and_goes_on_live(server, oncall, page):
    campaign = Campaign.objects.create(name="Spring launch", status="sending")
    post_events(
        server,
        [
            campaign_event("send", "kim@example.com", "c-1", campaign, seconds_ago=40),
            campaign_event("delivered", "kim@example.com", "c-1", campaign, seconds_ago=30),
            campaign_event("send", "lou@example.com", "c-2", campaign, seconds_ago=20),
            event("delivered", "not-in-campaign@example.com", "x-1"),
        ],
    )
    log_in(page, server, "/campaigns/")
    page.get_by_role("link", name="Spring launch").click()

    expect(page.get_by_role("heading", name="Spring launch")).to_be_visible()
    expect(page.locator('.funnel [data-count="sent"]')).to_have_text("2")
    expect(page.locator('.funnel [data-count="delivered"]')).to_have_text("1")
    expect(page.locator('[data-step-rate="delivered"]')).to_have_text("50.0% of sent")
    expect(page.get_by_text("Recipients")).to_be_visible()
    expect(page.locator("#connection")).to_have_text("Live")

    post_events(
        server,
        [
            campaign_event("open", "kim@example.com", "c-1", campaign, seconds_ago=1),
            event("open", "not-in-campaign@example.com", "x-1", seconds_ago=1),
        ],
    )

    expect(page.locator('.funnel [data-count="opened"]')).to_have_text("1", timeout=LIVE_WITHIN_MS)
    rows = page.locator("#campaign-feed tbody tr")
    expect(rows.filter(has_text="kim@example.com").filter(has_text="opened")).to_be_visible()
    expect(rows.filter(has_text="not-in-campaign@example.com")).to_have_count(0)


def test_message_timeline_page_lists_every_event_in_order(server, oncall, page):
    post_events(
        server,
        [
            event("click", "mia@example.com", "t-1", seconds_ago=10, url="https://shop.example/a"),
            event("send", "mia@example.com", "t-1", seconds_ago=70),
            event("open", "mia@example.com", "t-1", seconds_ago=20),
            event("delivered", "mia@example.com", "t-1", seconds_ago=60),
        ],
    )
    log_in(page, server, "/messages/t-1/")

    steps = page.locator("#timeline > li")
    expect(steps).to_have_count(4)
    for index, kind in enumerate(["sent", "delivered", "opened", "clicked"]):
        expect(steps.nth(index).locator(".badge")).to_have_text(kind)
    expect(steps.nth(1)).to_contain_text("+10 s")
    expect(steps.nth(3)).to_contain_text("https://shop.example/a")
    steps.nth(3).get_by_text("Raw provider payload").click()
    expect(steps.nth(3).locator("pre")).to_contain_text('"event": "click"')


def test_dashboard_fits_a_phone_screen(server, oncall, browser):
    post_events(server, [event("delivered", "a.very.long.address.indeed@example.com", "p-1")])
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, server)

    expect(page.locator("#feed tbody tr")).to_have_count(1)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    expect(page.get_by_label("Recipient history")).to_be_visible()
    context.close()


STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@pytest.fixture
def unchecked_page():
    """A page in a browser without Chromium's local network access checks: a document served by
    Playwright's route.fulfill has no address, so those checks would block its websocket."""
    with sync_playwright() as playwright:
        args = [*CHROMIUM_ARGS, "--disable-features=LocalNetworkAccessChecks"]
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield browser.new_page()
        browser.close()


def test_dashboard_runs_under_a_strict_content_security_policy(server, oncall, unchecked_page):
    page = unchecked_page
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)

    def with_csp(route):
        response = route.fetch()
        route.fulfill(
            response=response, headers={**response.headers, "content-security-policy": STRICT_CSP}
        )

    log_in(page, server)
    page.route(f"{server.url}/", with_csp)
    page.reload()
    post_events(server, [event("delivered", "csp@example.com", "csp-1")])

    expect(page.locator("#connection")).to_have_text("Live")
    expect(page.locator("#feed tbody tr").filter(has_text="csp@example.com")).to_be_visible()
    expect(page.locator("#chart canvas")).to_have_count(1)
    assert refused == []
