"""Takes docs/dashboard.png: the dashboard with an hour of simulated traffic, live.

Not collected by a plain `pytest` (the file name does not start with test_); run it on purpose:
    pytest tests/e2e/screenshot_dashboard.py
SCREENSHOT_DIR=/tmp/shots also saves the campaign, timeline and phone-width pages there.
"""

import os
import random
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from events.simulator.mandrill import MandrillFormat
from events.simulator.runner import send
from events.simulator.traffic import DEFAULT_MIX, Traffic, parse_mix
from mailer.models import Campaign
from tests.e2e.conftest import MANDRILL_KEY, log_in
from tests.servers import ROOT

pytestmark = pytest.mark.e2e

BACKFILL_MINUTES = 60
SCREENSHOT_SIZE = {"width": 1280, "height": 900}  # tall enough for the feed's first rows


def backfill(url: str, campaign_id: int) -> None:
    """An hour of traffic with a daytime swell, posted with the times it would have had."""
    rng = random.Random(7)  # noqa: S311  (simulated data)
    now = time.time()
    for minutes_ago in range(BACKFILL_MINUTES, 0, -1):
        at = now - minutes_ago * 60
        traffic = Traffic(parse_mix(DEFAULT_MIX), campaign_id, rng=rng, clock=lambda at=at: at)
        size = 25 + int(20 * (1 + (BACKFILL_MINUTES - minutes_ago) / 30) * rng.random())
        provider = MandrillFormat()
        send(url, provider.post(url, provider.batch(traffic.take(size))))


def test_dashboard_screenshot(start_server, oncall, page, browser, settings):
    settings.MANDRILL_WEBHOOK_KEY = MANDRILL_KEY
    server = start_server()
    hook = f"{server.url}/api/hook/mandrill/"
    campaign = Campaign.objects.create(
        name="Autumn sale", subject="Autumn sale: 30% off everything", status="sending"
    )
    backfill(hook, campaign.id)
    page.set_viewport_size(SCREENSHOT_SIZE)
    log_in(page, server)
    expect(page.locator("#connection")).to_have_text("Live")

    call_command("simulate_events", url=hook, count=60, rate=30, batch=3, campaign=campaign.id)
    page.wait_for_timeout(1200)  # let the last rows' arrival highlight fade a little
    target = ROOT / "docs" / "dashboard.png"
    page.screenshot(path=target)

    extra = os.environ.get("SCREENSHOT_DIR")
    if extra:
        save_other_pages(Path(extra), page, browser, server, campaign.id)


def save_other_pages(folder: Path, page, browser, server, campaign_id: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / "dashboard-full.png", full_page=True)
    page.locator("#feed tbody tr").first.press("Enter")
    expect(page.locator("#detail-raw")).to_contain_text('"event"')
    page.screenshot(path=folder / "detail.png")
    message = page.locator("#detail-timeline-link").get_attribute("href")
    page.goto(f"{server.url}{message}")
    page.screenshot(path=folder / "timeline.png", full_page=True)
    page.goto(f"{server.url}/campaigns/{campaign_id}/")
    expect(page.locator("#connection")).to_have_text("Live")
    page.wait_for_timeout(500)  # the funnel's bars grow in
    page.screenshot(path=folder / "campaign.png", full_page=True)
    page.goto(f"{server.url}/campaigns/")
    page.screenshot(path=folder / "campaigns.png")
    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=None)
    phone_page = phone.new_page()
    phone_page.context.add_cookies(page.context.cookies())
    phone_page.goto(f"{server.url}/")
    expect(phone_page.locator("#connection")).to_have_text("Live")
    phone_page.screenshot(path=folder / "phone.png", full_page=True)
    phone.close()
