"""Provider text is shown as text everywhere: a signed webhook whose recipient, description,
URL, tags and metadata hold markup, then the dashboard (feed and event detail), the message
timeline page and the admin's change page, in Chromium. Nothing runs; the text is shown as is.
"""

import pytest
from playwright.sync_api import Page, expect

from events.models import EmailEvent
from tests.e2e.conftest import event as mandrill_event
from tests.e2e.conftest import log_in, post_events

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch):
    """Playwright's sync API runs an event loop in the test thread; let the ORM work there."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


SCRIPT = "<script>window.__pwned=1</script>"
IMG = '"><img src=x onerror=window.__pwned=1>'
RECIPIENT = f"{SCRIPT}@example.com"
MESSAGE_ID = "xss-msg-1"


def _hostile_events() -> list[dict]:
    common = {"metadata": {"note": SCRIPT, "ref": IMG}, "tags": [SCRIPT, IMG]}
    return [
        mandrill_event("send", RECIPIENT, MESSAGE_ID, seconds_ago=30, **common),
        mandrill_event(
            "hard_bounce",
            RECIPIENT,
            MESSAGE_ID,
            seconds_ago=20,
            msg={"bounce_description": SCRIPT, "diag": IMG, "subject": IMG},
            **common,
        ),
        mandrill_event(
            "click", RECIPIENT, MESSAGE_ID, seconds_ago=10, url=f"https://x.example/{IMG}", **common
        ),
    ]


def _assert_nothing_ran(browser_page: Page, dialogs: list) -> None:
    assert browser_page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    assert browser_page.locator("img[src='x']").count() == 0


def test_provider_markup_never_runs_anywhere_it_is_shown(server, oncall, page):
    oncall.is_staff = oncall.is_superuser = True
    oncall.save()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    post_events(server, _hostile_events())
    clicked = EmailEvent.objects.get(message_id=MESSAGE_ID, type="clicked")

    # The dashboard's live feed, and the event detail with the raw payload.
    log_in(page, server)
    rows = page.locator("#feed tbody tr")
    expect(rows.filter(has_text="clicked").locator(".recipient")).to_have_text(RECIPIENT)
    expect(rows.filter(has_text="clicked").locator(".detail")).to_contain_text(IMG)
    rows.filter(has_text="clicked").focus()
    page.keyboard.press("Enter")
    raw = page.locator("#event-detail #detail-raw")
    expect(raw).to_contain_text(SCRIPT.replace('"', '\\"'))
    expect(raw).to_contain_text(IMG.replace('"', '\\"'))
    expect(page.locator("#event-detail #detail-fields")).to_contain_text(RECIPIENT)
    _assert_nothing_ran(page, dialogs)
    page.keyboard.press("Escape")

    # The dashboard's recipient history (history comes from the API, not the live feed).
    page.goto(f"{server.url}/?recipient={RECIPIENT}")
    page.wait_for_load_state("networkidle")
    _assert_nothing_ran(page, dialogs)

    # The message's timeline page (rendered by Django's templates).
    page.goto(f"{server.url}/messages/{MESSAGE_ID}/")
    expect(page.locator("main")).to_contain_text(RECIPIENT)
    page.wait_for_load_state("networkidle")
    _assert_nothing_ran(page, dialogs)

    # The admin's change page of the event, and its list.
    page.goto(f"{server.url}/admin/events/emailevent/{clicked.pk}/change/")
    expect(page.locator("#content")).to_contain_text(RECIPIENT)
    expect(page.locator("#content")).to_contain_text(IMG)
    _assert_nothing_ran(page, dialogs)
    page.goto(f"{server.url}/admin/events/emailevent/")
    expect(page.locator("#result_list")).to_contain_text(RECIPIENT)
    _assert_nothing_ran(page, dialogs)


def test_the_live_server_sends_the_content_security_policy(server, oncall, page):
    """The policy reaches the browser and the pages run under it (nothing refused)."""
    refused = []
    page.on(
        "console",
        lambda m: refused.append((page.url, m.text)) if "Content Security" in m.text else None,
    )
    log_in(page, server)
    post_events(server, [mandrill_event("delivered", "csp@example.com", "csp-live-1")])
    expect(page.locator("#connection")).to_have_text("Live")
    expect(page.locator("#feed tbody tr").filter(has_text="csp@example.com")).to_be_visible()

    for path in ("/campaigns/", "/audience/subscribers/", "/settings/providers/", "/doc"):
        response = page.goto(f"{server.url}{path}")
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
    expect(page.locator(".swagger-ui")).to_be_visible()
    # Only drf-spectacular's small inline <style> block on /doc (box-sizing, background) is
    # refused; Swagger UI works without it.
    assert [url for url, text in refused if "inline style" not in text] == []
    assert {url.rsplit("/", 1)[-1] for url, _ in refused} <= {"doc"}
