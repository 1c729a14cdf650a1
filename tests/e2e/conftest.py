"""Browser tests: Debian's Chromium driven by Playwright against a live daphne server."""

import json
import time

import httpx
import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page, sync_playwright

from tests.events.webhook_helpers import mandrill_event, mandrill_signature
from tests.servers import DaphneServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
MANDRILL_KEY = "e2e-mandrill-key"
USERNAME, PASSWORD = "oncall", "pw-oncall-12345"
LIVE_WITHIN_MS = 2000


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch):
    """Playwright's sync API runs an event loop in the test thread; let the ORM work there."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def start_server(daphne_factory):
    """Starts live servers that verify Mandrill signatures; the server keeps Django's checks."""

    def start(**env: str) -> DaphneServer:
        return daphne_factory(
            MANDRILL_WEBHOOK_KEY=MANDRILL_KEY, DJANGO_ALLOW_ASYNC_UNSAFE="", **env
        )

    return start


@pytest.fixture
def server(start_server) -> DaphneServer:
    return start_server()


@pytest.fixture
def oncall(transactional_db):
    return get_user_model().objects.create_user(USERNAME, "oncall@example.com", PASSWORD)


@pytest.fixture
def browser() -> Browser:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def log_in(page: Page, server: DaphneServer, path: str = "/") -> None:
    page.goto(f"{server.url}/accounts/login/?next={path}")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.url}{path}")


def post_events(server: DaphneServer, events: list[dict]) -> dict:
    """Post a signed Mandrill webhook to the live server, as Mandrill would."""
    url = f"{server.url}/api/hook/mandrill/"
    params = {"mandrill_events": json.dumps(events)}
    response = httpx.post(
        url,
        data=params,
        headers={"X-Mandrill-Signature": mandrill_signature(MANDRILL_KEY, url, params)},
    )
    assert response.status_code == 200, response.text
    return response.json()


def event(kind: str, email: str, message_id: str, seconds_ago: int = 5, **extra) -> dict:
    """A Mandrill event at a distinct time (so repeated kinds are distinct events)."""
    return mandrill_event(
        kind, email=email, message_id=message_id, ts=int(time.time()) - seconds_ago, **extra
    )
