"""The periodic provider health check: status pages (a local server stands in for
Statuspage.io; this machine has no internet), our own error rate, the result kept in Redis,
and `progress` frames of kind "provider" only when the health changes."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings as django_settings

from mailer import provider_health
from mailer.models import ProviderAccount
from mailer.provider_health_tasks import check_provider_health
from mailer.providers import state
from mailer.providers.base import Failure, Verdict

pytestmark = pytest.mark.django_db


class _StatusPage(BaseHTTPRequestHandler):
    indicator = "none"

    def do_GET(self):
        body = json.dumps(
            {"status": {"indicator": type(self).indicator, "description": "All good"}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def status_page():
    handler = type("Handler", (_StatusPage,), {"indicator": "none"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_port}/api/v2/status.json"
    server.shutdown()
    server.server_close()


@pytest.fixture
def frames(provider_frames):
    """The provider frames dashboards receive (over the real channel layer)."""
    return provider_frames


def account(name: str, kind: str = "mailgun", **fields) -> ProviderAccount:
    created = ProviderAccount(name=name, kind=kind, **fields)
    created.credentials = {"api_key": "k"} if kind == "mailgun" else {}
    created.save()
    return created


def test_status_page_urls_are_one_dict_and_overridable(settings):
    assert provider_health.status_page_urls()["sendgrid"].endswith("/api/v2/status.json")
    settings.PROVIDER_STATUS_PAGES = {"sendgrid": "", "sandbox": "http://x/status.json"}
    urls = provider_health.status_page_urls()
    assert "sendgrid" not in urls and urls["sandbox"] == "http://x/status.json"


def test_beat_runs_the_check_every_minute():
    entry = django_settings.CELERY_BEAT_SCHEDULE["check-provider-health"]
    assert entry == {"task": "mailer.provider_health_tasks.check_provider_health", "schedule": 60.0}
    assert "mailer.provider_health_tasks" in django_settings.CELERY_IMPORTS


def test_reachable_status_page_and_change_frames(settings, status_page, frames):
    handler, url = status_page
    settings.PROVIDER_STATUS_PAGES = {"mailgun": url}
    mailgun = account("Mailgun")

    assert check_provider_health() == {str(mailgun.pk): "ok"}
    stored = provider_health.health_get_many([mailgun.pk])[mailgun.pk]
    assert (stored["health"], stored["status_page"], stored["status"]) == (
        "ok",
        "operational",
        "healthy",
    )
    assert [(f["kind"], f["object_id"], f["health"]) for f in frames] == [
        ("provider", mailgun.pk, "ok")
    ]

    check_provider_health()
    assert len(frames) == 1, "no frame when nothing changed"

    handler.indicator = "major"
    check_provider_health()
    assert frames[-1]["health"] == "down" and frames[-1]["status_page"] == "major"

    handler.indicator = "minor"
    check_provider_health()
    assert frames[-1]["health"] == "degraded"


def test_unreachable_status_page_is_not_an_outage(settings, frames):
    # Nothing listens on port 9 here: like any status page on this offline machine.
    settings.PROVIDER_STATUS_PAGES = {"mailgun": "http://127.0.0.1:9/api/v2/status.json"}
    settings.PROVIDER_STATUS_TIMEOUT_S = 0.5
    mailgun = account("Mailgun")
    results = provider_health.providers_check_health()
    assert results[mailgun.pk]["health"] == "ok"
    assert results[mailgun.pk]["status_page"] == "unreachable"
    assert results[mailgun.pk]["status_page_detail"] == "status page unreachable"


def test_own_error_rate_and_router_state_count(settings, frames):
    settings.PROVIDER_STATUS_PAGES = {"mailgun": "", "postmark": ""}
    flaky = account("Flaky")
    for _ in range(3):
        state.record_success(flaky, 120.0)
    state.record_failure(flaky, Failure(Verdict.OUTAGE, "HTTP 502"), probe=False)
    broken = account("Broken")
    state.record_failure(broken, Failure(Verdict.MISCONFIGURED, "HTTP 401"), probe=False)
    off = account("Off", enabled=False)
    no_page = account("No page", kind="sandbox")

    results = provider_health.providers_check_health()
    assert results[flaky.pk]["health"] == "degraded"
    assert results[flaky.pk]["error_rate"] == 0.25
    assert results[flaky.pk]["latency_ms"] == 120.0
    assert results[broken.pk]["health"] == "misconfigured"
    assert results[off.pk]["health"] == "disabled"
    assert results[no_page.pk]["status_page"] is None
    assert {f["object_id"] for f in frames} == {flaky.pk, broken.pk, off.pk, no_page.pk}


def test_api_shows_the_last_check(settings, staff_user, frames):
    from tests.mailer.factories import client_for

    settings.PROVIDER_STATUS_PAGES = {"mailgun": "http://127.0.0.1:9/status.json"}
    settings.PROVIDER_STATUS_TIMEOUT_S = 0.5
    mailgun = account("Mailgun")
    client = client_for(staff_user)
    assert client.get(f"/api/providers/{mailgun.pk}/").json()["health"] is None
    provider_health.providers_check_health()
    health = client.get(f"/api/providers/{mailgun.pk}/").json()["health"]
    assert (health["health"], health["status_page"]) == ("ok", "unreachable")
