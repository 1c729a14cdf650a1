"""GET /metrics: refused without the bearer token; with it, Prometheus text whose counters
follow real webhooks, sends and websocket clients, and whose gauges read the real Redis.
The Grafana dashboard in docs/ may only query what this endpoint exposes."""

import contextlib
import json
import re
from pathlib import Path

import httpx
import pytest
from django.contrib.auth import get_user_model
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token
from websockets.sync.client import connect

from events import spool
from events.normalized import NormalizedEvent
from events.spool_tasks import drain_webhook_spool
from mailer.services.messages import chunk_send
from mailer.services.sending import campaign_start_send
from tests.events.webhook_helpers import mandrill_event, post_mandrill
from tests.mailer import factories
from tests.mailer.campaign_factories import campaign
from tests.mailer.fake_esp import Answer, esp_account, fake_esp_fixture  # noqa: F401
from tests.servers import ROOT, child_pids, connections_served, wait_until

TOKEN = "metrics-token-for-the-tests-0123456789"
MANDRILL_KEY = "mandrill-test-key"
DASHBOARD = ROOT / "docs" / "grafana-dashboard.json"


@pytest.fixture(autouse=True)
def _metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.MANDRILL_WEBHOOK_KEY = MANDRILL_KEY
    settings.MANDRILL_WEBHOOK_URL = []


Samples = dict[tuple[str, tuple], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client) -> Samples:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    return parse(response.content.decode())


def scrape_live(url: str) -> Samples:
    response = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- who may read them


def test_without_a_configured_token_metrics_are_not_served(client, settings):
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Token {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}"],
)
def test_a_missing_or_wrong_token_gets_401(client, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get("/metrics", **headers)

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"mailpulse_" not in response.content


def test_a_signed_in_staff_user_still_needs_the_token(client, staff_user):
    client.force_login(staff_user)

    assert client.get("/metrics").status_code == 401


@pytest.mark.django_db
def test_the_token_alone_gets_prometheus_text_without_session_or_csrf(client, api_client):
    client.enforce_csrf_checks = True

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = parse(response.content.decode())
    assert value(samples, "mailpulse_shared_metrics_up") == 1
    assert "sessionid" not in response.cookies
    assert "/metrics" not in api_client.get("/api/schema/").content.decode()


# --- what they count


@pytest.mark.django_db(transaction=True)
def test_a_signed_webhook_moves_ingested_events_by_provider_and_type(client):
    before = scrape(client)
    events = [
        mandrill_event("delivered", message_id="m-1"),
        mandrill_event("delivered", message_id="m-2"),
        mandrill_event("open", message_id="m-1"),
    ]

    assert post_mandrill(client, events, key=MANDRILL_KEY).status_code == 200
    assert post_mandrill(client, events, key="not-the-key").status_code == 403
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    ingested = "mailpulse_events_ingested_total"
    assert moved(ingested, provider="mandrill", type="delivered") == 2
    assert moved(ingested, provider="mandrill", type="opened") == 1
    webhooks = "mailpulse_webhook_request_duration_seconds_count"
    assert moved(webhooks, provider="mandrill", outcome="accepted") == 1
    assert moved(webhooks, provider="mandrill", outcome="refused") == 1


def _normalized(n: int) -> NormalizedEvent:
    return NormalizedEvent.build(
        type="delivered",
        provider_event="delivered",
        recipient=f"r{n}@example.com",
        message_id=f"msg-{n}",
        provider_event_id=f"evt-{n}",
        raw={"n": n},
    )


@pytest.mark.django_db
def test_spool_and_celery_queue_depths_are_what_redis_holds(client):
    for n in range(2):
        spool.spool_append(provider="mandrill", events=[_normalized(n)])
    drain_webhook_spool.delay()
    drain_webhook_spool.delay()
    drain_webhook_spool.apply_async(priority=9)  # kombu keeps it in a list of its own

    samples = scrape(client)

    assert value(samples, "mailpulse_webhook_spool_entries", stream="spool") == 2
    assert value(samples, "mailpulse_webhook_spool_entries", stream="dead_letter") == 0
    assert value(samples, "mailpulse_celery_queue_length", queue="celery") == 3


def _send_a_campaign(recipients: int) -> None:
    """Start a campaign and send its one chunk here, as a Celery worker would."""
    people = [factories.subscriber() for _ in range(recipients)]
    target = campaign(lists=[factories.mailing_list(members=people)])
    campaign_start_send(campaign=target)
    ids = sorted(target.messages.values_list("pk", flat=True))
    chunk_send(campaign_id=target.pk, message_ids=ids)


@pytest.mark.django_db(transaction=True)
def test_sends_by_provider_and_outcome_and_the_open_breaker_reach_every_web_process(
    fake_esp, daphne_factory, settings
):
    settings.PROVIDER_BREAKER_FAILURES = 2
    settings.PROVIDER_BREAKER_COOLDOWN_S = 300
    down, up = fake_esp("mailgun", mode=Answer(503, {"message": "down"})), fake_esp("postmark")
    esp_account(down, name="mailgun-main", priority=1)
    esp_account(up, name="postmark-backup", priority=2)
    server = daphne_factory(METRICS_TOKEN=TOKEN)

    # This test process sends; another process is scraped.
    _send_a_campaign(3)
    samples = scrape_live(server.url)

    assert value(samples, "mailpulse_sends_total", provider="mailgun", outcome="outage") == 2
    assert value(samples, "mailpulse_sends_total", provider="postmark", outcome="sent") == 3
    state = "mailpulse_provider_state"
    assert value(samples, state, account="mailgun-main", provider="mailgun", state="open") == 1
    assert value(samples, state, account="mailgun-main", provider="mailgun", state="healthy") == 0
    assert value(samples, state, account="postmark-backup", provider="postmark", state="healthy")


@pytest.mark.django_db(transaction=True)
def test_websocket_clients_and_frames_of_a_live_server(daphne_factory):
    user = get_user_model().objects.create_user("viewer", password="pw-viewer-123")
    token = Token.objects.create(user=user).key
    server = daphne_factory(METRICS_TOKEN=TOKEN)  # no Mandrill key there: unsigned posts pass
    clients = "mailpulse_websocket_clients"
    assert value(scrape_live(server.url), clients) == 0

    with connect(
        server.url.replace("http://", "ws://") + "/ws/email/",
        origin=server.url,
        additional_headers={"Authorization": f"Token {token}"},
    ) as socket:
        assert json.loads(socket.recv(timeout=10))["type"] == "snapshot"
        assert value(scrape_live(server.url), clients) == 1
        posted = httpx.post(
            f"{server.url}/api/hook/mandrill/",
            data={"mandrill_events": json.dumps([mandrill_event()])},
            timeout=30,
        )
        assert posted.status_code == 200, posted.text
        assert json.loads(socket.recv(timeout=10))["type"] == "events"
        samples = scrape_live(server.url)
        assert value(samples, "mailpulse_websocket_frames_total") == 1
        assert value(samples, "mailpulse_websocket_events_sent_total") == 1

    wait_until(lambda: value(scrape_live(server.url), clients) == 0, what="client gone")


@pytest.mark.django_db(transaction=True)
def test_every_scrape_of_a_multi_process_server_counts_the_clients_of_all_its_processes(
    daphne_factory,
):
    user = get_user_model().objects.create_user("viewer", password="pw-viewer-123")
    token = Token.objects.create(user=user).key
    server = daphne_factory(processes=2, METRICS_TOKEN=TOKEN)
    children = child_pids(server.process.pid)
    url = server.url.replace("http://", "ws://") + "/ws/email/"
    headers = {"Authorization": f"Token {token}"}
    sockets = []
    with contextlib.ExitStack() as open_sockets:
        # Until both processes hold dashboards (the kernel picks which one accepts).
        while len(sockets) < 40 and not all(
            connections_served(child, server.port) for child in children
        ):
            socket = connect(url, origin=server.url, additional_headers=headers)
            sockets.append(open_sockets.enter_context(socket))
            assert json.loads(socket.recv(timeout=10))["type"] == "snapshot"
        assert all(connections_served(child, server.port) for child in children)
        counts = [value(scrape_live(server.url), "mailpulse_websocket_clients") for _ in range(8)]

    assert len(children) == 2
    assert counts == [len(sockets)] * 8


# --- the dashboard built from them

METRIC_NAME = re.compile(r"\b(?:mailpulse|django)_[a-z0-9_]+\b")
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}


def exposed(text: str) -> tuple[set[str], set[str]]:
    """The names a query may use, and the family names (counters without `_total`)."""
    names, families = set(), set()
    for family in text_string_to_metric_families(text):
        families.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, [""]))
    return names, families


def dashboard_queries(path: Path) -> list[str]:
    dashboard = json.loads(path.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


@pytest.mark.django_db
def test_the_grafana_dashboard_queries_only_exposed_metrics_and_all_of_ours(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    names, families = exposed(response.content.decode())

    queries = dashboard_queries(DASHBOARD)
    used = {name for query in queries for name in METRIC_NAME.findall(query)}
    used_families = {re.sub(r"_(total|bucket|sum|count)$", "", name) for name in used}

    assert sorted(used - names) == [], "the dashboard queries metrics /metrics does not expose"
    ours = {family for family in families if family.startswith("mailpulse_")}
    assert sorted(ours - used_families) == [], "metrics without a panel on the dashboard"
