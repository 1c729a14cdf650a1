"""One request id follows the work it started, in the JSON log lines: a webhook through
ingest and broadcast (live, and replayed from the spool), and a campaign's send through its
Celery tasks on a real worker."""

import base64
import io
import json
import logging
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
from django.core.management import call_command
from django.utils import timezone
from django_redis import get_redis_connection

from config.request_log import JsonFormatter
from events.spool import spool_append
from mailer.models import Campaign
from mailer.services.campaigns import campaign_schedule
from mailer.services.sending import campaigns_start_due
from tests.celery_workers import celery_workers_fixture  # noqa: F401
from tests.events.factories import normalized
from tests.events.webhook_helpers import mandrill_event, mandrill_signature
from tests.mailer import factories
from tests.mailer.campaign_factories import campaign
from tests.mailer.smtp_server import smtp_server_fixture  # noqa: F401
from tests.servers import wait_until

KEY = "tracing-mandrill-key"


def json_lines(text: str) -> list[dict]:
    """The JSON log lines of a process's output (a line still being written is left out)."""
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return lines


def messages_with(lines: list[dict], request_id: str) -> set[str]:
    return {line["msg"] for line in lines if line.get("request_id") == request_id}


@pytest.fixture
def json_log():
    """The JSON lines this process logs, formatted as they are written."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: json_lines(stream.getvalue())
    root.removeHandler(handler)


def post_mandrill(url: str, message_id: str, **headers) -> httpx.Response:
    params = {"mandrill_events": json.dumps([mandrill_event(message_id=message_id)])}
    signature = mandrill_signature(KEY, url, params)
    return httpx.post(
        url,
        content=urlencode(params),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Mandrill-Signature": signature,
            **headers,
        },
        timeout=30,
    )


def test_a_webhook_is_traced_through_ingest_and_broadcast_with_or_without_an_id(
    daphne_factory,
):
    server = daphne_factory(MANDRILL_WEBHOOK_KEY=KEY)
    url = f"{server.url}/api/hook/mandrill/"

    given = post_mandrill(url, "traced-1", **{"X-Request-ID": "hook-trace-1"})
    generated = post_mandrill(url, "traced-2")

    assert (given.status_code, generated.status_code) == (200, 200)
    assert given.headers["X-Request-ID"] == "hook-trace-1"
    new_id = generated.headers["X-Request-ID"]
    assert len(new_id) == 32 and new_id != "hook-trace-1"
    for request_id in ("hook-trace-1", new_id):
        wait_until(
            lambda rid=request_id: (
                {"request", "ingested", "broadcast"}
                <= messages_with(json_lines(server.output()), rid)
            ),
            30,
            f"the request, ingest and broadcast lines of {request_id}",
        )
    ingested = [
        line
        for line in json_lines(server.output())
        if line["msg"] == "ingested" and line["request_id"] in ("hook-trace-1", new_id)
    ]
    assert [(line["provider"], line["stored"]) for line in ingested] == [("mandrill", 1)] * 2


@pytest.mark.django_db
def test_a_spooled_webhook_keeps_its_request_id_when_drained(
    json_log, django_capture_on_commit_callbacks
):
    spool_append(
        provider="mandrill", events=[normalized(message_id="spooled-1")], request_id="spooled-hook"
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("webhook_spool", "--drain", stdout=io.StringIO())

    assert {"ingested", "broadcast"} <= messages_with(json_log(), "spooled-hook")


# Committed for real: the chunks are enqueued when each campaign's own transaction commits.
@pytest.mark.django_db(transaction=True)
def test_each_scheduled_campaign_started_by_beat_gets_an_id_of_its_own(json_log):
    due = [
        campaign_schedule(
            campaign=campaign(lists=[factories.mailing_list(members=[factories.subscriber()])]),
            scheduled_at=timezone.now() - timedelta(seconds=1),
        )
        for _ in range(2)
    ]
    assert sorted(campaigns_start_due()) == sorted(c.pk for c in due)

    tasks = [json.loads(raw) for raw in get_redis_connection("default").lrange("celery", 0, -1)]
    ids = {message["headers"]["request_id"] for message in tasks}
    assert len(tasks) == 2 and len(ids) == 2 and "-" not in ids
    started = {
        line["campaign"]: line["request_id"]
        for line in json_log()
        if line["msg"] == "campaign sending"
    }
    assert set(started.values()) == ids


def test_a_campaign_send_is_traced_through_its_tasks_on_a_real_worker(
    smtp_server, staff_user, celery_workers, settings
):
    settings.SEND_CHUNK_SIZE = 2
    people = [factories.subscriber() for _ in range(5)]
    target = campaign(lists=[factories.mailing_list(members=people)])
    response = factories.client_for(staff_user).post(
        f"/api/campaigns/{target.pk}/send/", HTTP_X_REQUEST_ID="send-trace-1"
    )
    assert response.status_code == 202
    queued = get_redis_connection("default").lrange("celery", 0, -1)
    assert {json.loads(raw)["headers"]["request_id"] for raw in queued} == {"send-trace-1"}
    assert len(queued) == 3
    # The ids travel in the message headers, not in the tasks' arguments.
    assert not any(b"send-trace-1" in base64.b64decode(json.loads(raw)["body"]) for raw in queued)
    workers = celery_workers(EMAIL_URL=smtp_server.url)
    worker = workers.start(concurrency=1)

    def chunk_lines() -> list[dict]:
        return [
            line
            for line in json_lines(workers.output(worker))
            if line["logger"].startswith(("mailer", "events")) or "send_chunk" in line["msg"]
        ]

    wait_until(
        lambda: sum("succeeded" in line["msg"] for line in chunk_lines()) == 3,
        90,
        f"three chunks done; worker log: {workers.logs[0]}",
    )
    assert Campaign.objects.get(pk=target.pk).status == "sent"
    lines = chunk_lines()
    assert {line["request_id"] for line in lines if "received" not in line["msg"]} == {
        "send-trace-1"
    }
    assert "ingested" in messages_with(lines, "send-trace-1")
    assert len(smtp_server.messages()) == 5
