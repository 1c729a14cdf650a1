"""A full run (login, tokens, signed and basic-auth webhooks, a provider account, a campaign
sent through the sandbox provider) logged at DEBUG holds no secret, token, password,
provider credential or signature: every record is formatted as production formats it."""

import base64
import json
import logging

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

import mailer.sandbox.backend as sandbox_backend
import mailer.sandbox_tasks as sandbox_tasks
from config.request_log import JsonFormatter
from mailer.models import MailingList, Message
from mailer.services.messages import chunk_send
from tests.events.signed_providers import post_postmark, postmark_event
from tests.events.webhook_helpers import (
    TESTSERVER,
    mandrill_event,
    mandrill_signature,
    post_mandrill,
)
from tests.mailer.campaign_factories import campaign as make_campaign
from tests.mailer.factories import subscriber as make_subscriber

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Login-Secret-7f3a91"
WRONG_PASSWORD = "pw-Wrong-Secret-5c2d07"
MANDRILL_KEY = "mandrill-Secret-Key-2b8c"
WEBHOOK_SECRET = "hookuser:hook-Secret-Pw-44d1"
WRONG_BASIC = "hookuser:wrong-Secret-Pw-99"
PROVIDER_CREDENTIAL = "key-Provider-Secret-0e6f"


# The sandbox's real task; the queue it schedules itself on is stood in for by Jobs.
POST_SANDBOX_EVENTS = sandbox_tasks.post_sandbox_events


class Jobs:
    """Stands for Celery's queue (no worker runs here): keeps the sandbox's webhook jobs, and
    runs each queued one once through the real task, which signs the batch with the webhook
    key, posts it and, as the post fails, logs why and schedules a retry."""

    def __init__(self) -> None:
        self.jobs: list = []

    def apply_async(self, args, countdown=0.0):
        self.jobs.append(args)

    def run_queued_once(self) -> None:
        for args in list(self.jobs):
            POST_SANDBOX_EVENTS.run(*args)


@pytest.fixture
def captured(caplog):
    caplog.set_level(logging.DEBUG)
    formatter = JsonFormatter()

    def lines() -> str:
        return "\n".join(formatter.format(record) for record in caplog.records)

    return lines


@pytest.fixture
def run_settings(settings, monkeypatch):
    settings.MANDRILL_WEBHOOK_KEY = MANDRILL_KEY
    settings.WEBHOOK_SECRET = [WEBHOOK_SECRET]
    settings.SANDBOX_LATENCY_MS = 0
    settings.SANDBOX_EVENTS_DELAY_S = 0  # each batch's first events are due at once
    # A closed port: each post fails at once, and the task logs the failure.
    settings.SANDBOX_WEBHOOK_URL = "http://127.0.0.1:9/api/hook/mandrill/"
    jobs = Jobs()
    monkeypatch.setattr(sandbox_backend, "post_sandbox_events", jobs)
    monkeypatch.setattr(sandbox_tasks, "post_sandbox_events", jobs)
    return jobs


def _variants(secret: str) -> set[str]:
    """The secret as it could appear: as is, base64, JSON-escaped, URL-encoded."""
    encoded = base64.b64encode(secret.encode()).decode()
    return {secret, encoded, json.dumps(secret)[1:-1], secret.replace(":", "%3A")}


def _full_run(jobs: Jobs) -> list[str]:
    """Does everything the product logs around, and returns the secrets that went by."""
    secrets = [PASSWORD, WRONG_PASSWORD, MANDRILL_KEY, WEBHOOK_SECRET, WRONG_BASIC]
    secrets.append(PROVIDER_CREDENTIAL)
    staff = get_user_model().objects.create_user("ops", password=PASSWORD, is_staff=True)

    # Log in on the page: a failure, then success (the session key is a secret too).
    page = Client()
    wrong, right = {"username": "ops", "password": WRONG_PASSWORD}, {"username": "ops"}
    right["password"] = PASSWORD
    assert page.post("/accounts/login/", wrong).status_code == 200
    assert page.post("/accounts/login/", right).status_code == 302
    secrets.append(page.cookies["sessionid"].value)
    assert page.get("/").status_code == 200

    # A token: refused with the wrong password, created, used, and a forged one refused.
    api = APIClient()
    assert api.post("/api/auth/token/", wrong).status_code == 400
    token = api.post("/api/auth/token/", right).json()["token"]
    secrets.append(token)
    authed = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert authed.get("/api/events/").status_code == 200
    forged = "f" * 40
    secrets.append(forged)
    assert APIClient(HTTP_AUTHORIZATION=f"Token {forged}").get("/api/events/").status_code == 401

    # A provider account with a credential.
    created = authed.post(
        "/api/providers/",
        {
            "name": "Mailgun EU",
            "kind": "mailgun",
            "credentials": {"api_key": PROVIDER_CREDENTIAL, "sender_domain": "mg.example.com"},
            "priority": 50,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    invalid = authed.post(
        "/api/providers/",
        {"name": "Bad", "kind": "postmark", "credentials": {"api_key": PROVIDER_CREDENTIAL}},
        format="json",
    )
    assert invalid.status_code == 400
    assert (
        authed.patch(
            f"/api/providers/{created.json()['id']}/", {"enabled": False}, format="json"
        ).status_code
        == 200
    )

    # A signed Mandrill webhook, and one with a wrong signature.
    client = Client()
    events = [mandrill_event("delivered", message_id="secrecy-1")]
    path = "/api/hook/mandrill/"
    params = {"mandrill_events": json.dumps(events)}
    secrets.append(mandrill_signature(MANDRILL_KEY, TESTSERVER + path, params))
    assert post_mandrill(client, events, key=MANDRILL_KEY).status_code == 200
    secrets.append(mandrill_signature("not-the-key", TESTSERVER + path, params))
    assert post_mandrill(client, events, key="not-the-key").status_code == 403

    # Basic-auth webhooks: right and wrong credentials.
    assert post_postmark(client, postmark_event(), auth=WEBHOOK_SECRET).status_code == 200
    assert post_postmark(client, postmark_event(), auth=WRONG_BASIC).status_code == 401

    # A campaign sent through the sandbox provider, in-process.
    sandbox = authed.post(
        "/api/providers/",
        {"name": "Sandbox", "kind": "sandbox", "credentials": {"mode": "up"}, "priority": 1},
        format="json",
    )
    assert sandbox.status_code == 201, sandbox.json()
    audience = MailingList.objects.create(name="Readers")
    for n in range(3):
        make_subscriber(email=f"reader{n}@example.com", lists=[audience])
    target = make_campaign(lists=[audience], created_by=staff)
    assert authed.post(f"/api/campaigns/{target.pk}/send/", {}, format="json").status_code in (
        200,
        202,
    )
    ids = list(Message.objects.filter(campaign=target).values_list("pk", flat=True))
    result = chunk_send(campaign_id=target.pk, message_ids=ids)
    assert sum(result.outcomes.values()) == 3
    assert jobs.jobs  # the sandbox scheduled its webhooks
    jobs.run_queued_once()

    assert page.post("/accounts/logout/").status_code == 302
    return secrets


def _leaks(logged: str, secrets: list[str]) -> list[str]:
    return sorted(
        {secret for secret in secrets for variant in _variants(secret) if variant in logged}
    )


def test_a_full_run_logs_no_secret(captured, run_settings):
    secrets = _full_run(run_settings)
    logged = captured()

    assert "webhook refused" in logged and '"path": "/api/hook/mandrill/"' in logged
    assert "sandbox webhooks failed, again in" in logged
    assert _leaks(logged, secrets) == []


def test_no_secret_in_the_sql_log_either(captured, run_settings):
    """With DEBUG on (development), Django logs each query and its parameters at DEBUG: the
    queries carry token keys, session keys and password hashes, so that logger stays at INFO
    even when LOG_LEVEL is DEBUG."""
    connection.force_debug_cursor = True
    try:
        secrets = _full_run(run_settings)
    finally:
        connection.force_debug_cursor = False
    logged = captured()

    assert logging.getLogger("django.db.backends").getEffectiveLevel() > logging.DEBUG
    assert _leaks(logged, secrets) == []
