"""The sandbox provider: a send API that is up, flaky or down on demand, and the webhooks it
posts back to /api/hook/ afterwards, signed as the real provider signs them; and seed_demo."""

import heapq
import itertools
import json
import time
from collections import Counter
from io import StringIO
from pathlib import Path

import httpx
import pytest
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives, send_mail
from django.core.management import call_command
from rest_framework.authtoken.models import Token

import mailer.sandbox.backend as sandbox_backend
import mailer.sandbox_tasks as sandbox_tasks
from events.models import EmailEvent
from mailer.delivery import message_id_for
from mailer.models import Campaign, MailingList, Message, ProviderAccount, Subscriber
from mailer.models.messages import STATUS_RANK
from mailer.sandbox.backend import SandboxEmailBackend, provider_message_id
from mailer.sandbox.timeline import HARD_BOUNCE_DOMAIN, plan
from mailer.services.messages import Outcome, chunk_send
from mailer.services.sending import campaign_start_send
from tests.celery_workers import celery_workers_fixture  # noqa: F401
from tests.mailer.campaign_factories import campaign as make_campaign
from tests.mailer.factories import subscriber as make_subscriber
from tests.servers import wait_until

BACKEND = "mailer.sandbox.backend.SandboxEmailBackend"
KEY = "sandbox-test-key"


class InProcessWorker:
    """Stands for Celery: keeps the tasks the sandbox schedules (through JSON, as the broker
    would) and runs each when its countdown is over."""

    def __init__(self) -> None:
        self.task = sandbox_tasks.post_sandbox_events
        self.queue: list = []
        self.serial = itertools.count()
        self.runs = 0

    def apply_async(self, args, countdown=0.0):
        due = time.time() + (countdown or 0)
        heapq.heappush(self.queue, (due, next(self.serial), json.loads(json.dumps(args))))

    def run_until_idle(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.queue:
            assert time.monotonic() < deadline, "the sandbox's tasks did not finish"
            due, _, args = heapq.heappop(self.queue)
            time.sleep(max(0.0, due - time.time()))
            self.task.run(*args)
            self.runs += 1

    def jobs(self) -> list[dict]:
        return [args[0] for _, _, args in sorted(self.queue)]


@pytest.fixture
def worker(monkeypatch) -> InProcessWorker:
    fake = InProcessWorker()
    monkeypatch.setattr(sandbox_backend, "post_sandbox_events", fake)
    monkeypatch.setattr(sandbox_tasks, "post_sandbox_events", fake)
    return fake


def email(to="ada@example.com", **extra) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        "Autumn sale", "Hello", "Shop <news@shop.example>", [to] if isinstance(to, str) else to
    )
    message.extra_headers["Message-ID"] = extra.get("message_id", "<m1@mailpulse>")
    message.metadata = {"campaign_id": "7", "message_uid": "u-1"}
    message.tags = ["campaign-7"]
    return message


# --- the send API


def test_up_accepts_the_message_with_a_provider_id_and_schedules_its_webhooks(worker):
    backend = SandboxEmailBackend(mode="up", latency_ms=0, webhook_url="http://hooks.test/h/")
    message = email()

    assert backend.send_messages([message]) == 1

    status = message.anymail_status
    assert status.status == {"queued"}
    assert len(status.message_id) == 32 and int(status.message_id, 16)
    (job,) = worker.jobs()  # the connection closed after the send: its batch is scheduled
    assert (job["format"], job["url"]) == ("mandrill", "http://hooks.test/h/")
    (sent,) = job["messages"]
    assert sent["message_id"] == status.message_id
    assert (sent["recipient"], sent["sender"], sent["subject"]) == (
        "ada@example.com",
        "news@shop.example",
        "Autumn sale",
    )
    assert sent["metadata"] == {"campaign_id": "7", "message_uid": "u-1"}
    assert sent["tags"] == ["campaign-7"]


def test_an_open_connection_schedules_one_task_for_all_its_messages(worker):
    backend = SandboxEmailBackend(latency_ms=0)
    backend.open()
    for n in range(3):
        backend.send_messages([email(f"reader{n}@example.com")])
    assert worker.jobs() == []

    backend.close()

    (job,) = worker.jobs()
    assert [m["recipient"] for m in job["messages"]] == [f"reader{n}@example.com" for n in range(3)]
    assert job["url"] == "http://127.0.0.1:8000/api/hook/mandrill/"  # SITE_URL's hook


def test_metadata_comes_from_the_header_when_the_message_has_no_anymail_metadata(worker):
    message = EmailMultiAlternatives("Hi", "Body", "news@shop.example", ["ada@example.com"])
    message.extra_headers["X-Mailpulse-Metadata"] = json.dumps({"message_uid": "u-9"})

    SandboxEmailBackend(latency_ms=0).send_messages([message])

    assert worker.jobs()[0]["messages"][0]["metadata"] == {"message_uid": "u-9"}


def test_down_refuses_every_send_with_a_503(worker, settings):
    settings.EMAIL_BACKEND = BACKEND
    settings.SANDBOX_MODE = "down"
    settings.SANDBOX_LATENCY_MS = 0

    with pytest.raises(AnymailAPIError) as refused:
        send_mail("Hi", "Body", "news@shop.example", ["ada@example.com"])

    assert refused.value.status_code == 503
    assert refused.value.response.json()["name"] == "ServiceUnavailable"
    assert "Sandbox" in str(refused.value)
    assert worker.jobs() == []


def test_flaky_fails_about_its_percentage_and_the_same_sends_for_a_seed(worker):
    def failures(seed) -> list[int]:
        backend = SandboxEmailBackend(mode="flaky", flaky_percent=30, latency_ms=0, seed=seed)
        failed = []
        backend.open()
        for n in range(1000):
            try:
                backend.send_messages([email(message_id=f"<{n}@mailpulse>")])
            except AnymailAPIError as error:
                assert error.status_code == 503
                failed.append(n)
        backend.close()
        return failed

    first, again, other = failures("flaky"), failures("flaky"), failures("other")

    assert 250 <= len(first) <= 350
    assert again == first and other != first
    accepted = sum(len(job["messages"]) for job in worker.jobs())
    assert accepted == 3000 - 2 * len(first) - len(other)  # the failed ones have no webhooks


def test_latency_delays_each_send(worker):
    backend = SandboxEmailBackend(latency_ms=120)

    started = time.monotonic()
    backend.send_messages([email()])

    assert time.monotonic() - started >= 0.12


def test_recipients_at_reject_invalid_are_refused(worker):
    backend = SandboxEmailBackend(latency_ms=0)

    with pytest.raises(AnymailRecipientsRefused):
        backend.send_messages([email("gone@reject.invalid")])
    mixed = email(["gone@reject.invalid", "ada@example.com"])
    assert backend.send_messages([mixed]) == 1

    statuses = {a: s.status for a, s in mixed.anymail_status.recipients.items()}
    assert statuses == {"gone@reject.invalid": "rejected", "ada@example.com": "queued"}
    recipients = [m["recipient"] for job in worker.jobs() for m in job["messages"]]
    assert recipients == ["ada@example.com"]


def test_a_seeded_sandbox_names_messages_predictably(worker):
    backend = SandboxEmailBackend(latency_ms=0, seed="s1")
    message = email(message_id="<abc@mailpulse>")

    backend.send_messages([message])

    expected = provider_message_id("s1", "<abc@mailpulse>", "ada@example.com")
    assert message.anymail_status.message_id == expected


@pytest.mark.parametrize(
    "options",
    [{"mode": "sideways"}, {"flaky_percent": 140}, {"webhook_format": "carrier-pigeon"}],
)
def test_impossible_options_are_refused(options):
    with pytest.raises(ImproperlyConfigured, match="sandbox"):
        SandboxEmailBackend(**options)


# --- timelines


def test_a_timeline_is_the_same_for_the_same_message_and_seed():
    stories = [plan(f"{n:032x}", seed="a") for n in range(200)]

    assert stories == [plan(f"{n:032x}", seed="a") for n in range(200)]
    assert stories != [plan(f"{n:032x}", seed="b") for n in range(200)]
    halved = plan("0" * 32, seed="a", scale=0.5)
    assert [s.at_s for s in halved] == pytest.approx([s.at_s / 2 for s in stories[0]], abs=1e-5)


def test_the_mix_over_a_thousand_messages_is_near_the_targets():
    stories = [[s.type for s in plan(f"{n:032x}", seed="mix")] for n in range(1000)]
    has = Counter(t for story in stories for t in set(story))
    soft = sum(1 for s in stories if s[-1] == "bounced" and "deferred" in s and len(s) == 2)
    hard = has["bounced"] - soft

    assert 940 <= has["delivered"] <= 985  # ~96.5 %
    assert 8 <= hard <= 35  # ~2 %
    assert 4 <= soft <= 28  # ~1.5 %
    assert 0.33 <= has["opened"] / has["delivered"] <= 0.47  # ~40 % of delivered
    assert 0.17 <= has["clicked"] / has["opened"] <= 0.33  # ~25 % of openers
    assert has["complained"] <= 12 and has["unsubscribed"] <= 12  # ~0.3 % each


def test_each_story_is_told_in_order():
    for n in range(1000):
        story = plan(f"{n:032x}", seed="order")
        types = [s.type for s in story]
        assert [s.at_s for s in story] == sorted(s.at_s for s in story)
        assert types[0] in ("delivered", "deferred", "bounced")
        if "bounced" in types:
            assert types[-1] == "bounced" and "delivered" not in types
        if "opened" in types:
            assert types.index("delivered") < types.index("opened")
        if "clicked" in types:
            assert types.index("opened") < types.index("clicked")
            assert all(s.url.startswith("https://shop.example/") for s in story if s.url)


def test_recipients_at_bounce_invalid_always_hard_bounce():
    for n in range(50):
        (step,) = plan(f"{n:032x}", recipient=f"someone@{HARD_BOUNCE_DOMAIN}")
        assert (step.type, step.soft) == ("bounced", False)
        assert step.diagnostic.startswith("smtp;5")


# --- the whole loop


def expected_status(types: list[str]) -> str:
    ranked = [t for t in ("sent", *types) if t in STATUS_RANK]
    return max(ranked, key=lambda t: STATUS_RANK[t])


def seed_with(messages: list[Message], wanted: set[str]) -> str:
    """A seed under which these messages' stories include every `wanted` type."""
    for n in itertools.count():
        seed = f"e2e-{n}"
        told = {
            step.type
            for m in messages
            for step in plan(provider_message_id(seed, message_id_for(m.uid), m.email), seed=seed)
        }
        if wanted <= told:
            return seed
    raise AssertionError("unreachable")


def test_a_sent_campaign_comes_back_as_signed_webhooks_through_the_live_server(
    daphne_factory, settings, worker, user
):
    server = daphne_factory(MANDRILL_WEBHOOK_KEY=KEY)
    settings.MANDRILL_WEBHOOK_KEY = KEY  # the sandbox signs as Mandrill would
    settings.EMAIL_BACKEND = BACKEND
    settings.SANDBOX_LATENCY_MS = 0
    settings.SANDBOX_EVENTS_DELAY_S = 0.02
    settings.SANDBOX_WEBHOOK_URL = f"{server.url}/api/hook/mandrill/"
    settings.SEND_CHUNK_SIZE = 1000
    audience = MailingList.objects.create(name="Readers")
    for n in range(20):
        make_subscriber(email=f"reader{n}@example.com", first_name=f"Reader{n}", lists=[audience])
    campaign = campaign_start_send(campaign=make_campaign(lists=[audience]))
    messages = list(Message.objects.filter(campaign=campaign).order_by("pk"))
    settings.SANDBOX_SEED = seed_with(messages, {"delivered", "opened", "clicked", "bounced"})

    result = chunk_send(campaign_id=campaign.pk, message_ids=[m.pk for m in messages])
    worker.run_until_idle()

    assert result.outcomes[Outcome.SENT] == 20
    stories: dict[int, list[str]] = {}
    for message in Message.objects.filter(campaign=campaign):
        seed = settings.SANDBOX_SEED
        assert message.provider_message_id == provider_message_id(
            seed, message_id_for(message.uid), message.email
        )
        stories[message.pk] = [s.type for s in plan(message.provider_message_id, seed=seed)]
    stored = EmailEvent.objects.filter(provider="mandrill", campaign=campaign)
    by_message = Counter((e.metadata["message_uid"], e.type) for e in stored)
    for message in Message.objects.filter(campaign=campaign):
        story = stories[message.pk]
        assert {t: by_message[(str(message.uid), t)] for t in set(story)} == Counter(story)
        assert message.status == expected_status(story), story
    statuses = Counter(Message.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert statuses["clicked"] >= 1 and statuses["bounced"] >= 1
    assert statuses["delivered"] + statuses["opened"] >= 1
    assert all(e.message_id for e in stored)
    assert stored.count() == sum(len(story) for story in stories.values())

    token = Token.objects.create(user=user)
    live = httpx.get(
        f"{server.url}/api/events/live/", headers={"Authorization": f"Token {token.key}"}
    ).json()
    types = live["counters"]["types"]
    for event_type in ("delivered", "opened", "clicked", "bounced"):
        assert types[event_type] == stored.filter(type=event_type).count() > 0
    assert live["counters"]["providers"]["mandrill"] == stored.count()


def test_a_sandbox_provider_account_sends_through_the_router_as_make_run_does(
    daphne_factory, settings, worker
):
    server = daphne_factory()
    settings.SANDBOX_EVENTS_DELAY_S = 0.02
    settings.SANDBOX_WEBHOOK_URL = f"{server.url}/api/hook/mandrill/"
    settings.SANDBOX_SEED = "router"
    account = ProviderAccount(name="Sandbox", kind="sandbox", priority=100)
    account.credentials = {"mode": "up", "latency_ms": 0, "webhook_format": "mandrill"}
    account.save()
    audience = MailingList.objects.create(name="Readers")
    addresses = [f"reader{n}@example.com" for n in range(8)]
    addresses += ["gone@reject.invalid", f"moved@{HARD_BOUNCE_DOMAIN}"]
    for address in addresses:
        make_subscriber(email=address, lists=[audience])
    campaign = campaign_start_send(campaign=make_campaign(lists=[audience]))
    ids = list(Message.objects.filter(campaign=campaign).values_list("pk", flat=True))

    result = chunk_send(campaign_id=campaign.pk, message_ids=ids)
    worker.run_until_idle()

    assert (result.outcomes[Outcome.SENT], result.outcomes[Outcome.FAILED]) == (9, 1)
    messages = {m.email: m for m in Message.objects.filter(campaign=campaign)}
    refused = messages.pop("gone@reject.invalid")
    assert refused.status == Message.Status.FAILED and "Sandbox" in refused.error
    assert messages.pop(f"moved@{HARD_BOUNCE_DOMAIN}").status == Message.Status.BOUNCED
    for message in messages.values():
        assert message.provider == "sandbox"
        story = [s.type for s in plan(message.provider_message_id, seed="router")]
        assert message.status == expected_status(story), story
    stored = EmailEvent.objects.filter(campaign=campaign)
    assert set(stored.values_list("provider", flat=True)) == {"sandbox", "mandrill"}
    assert stored.filter(provider="mandrill", type="delivered").count() >= 1


@pytest.fixture
def celery_worker(celery_workers) -> Path:
    """A real Celery worker on the test database and broker; its log file."""
    workers = celery_workers(MANDRILL_WEBHOOK_KEY=KEY)
    workers.start(concurrency=1)
    return workers.logs[0]


def test_a_real_celery_worker_posts_the_webhooks_it_is_given(daphne_factory, celery_worker):
    server = daphne_factory(MANDRILL_WEBHOOK_KEY=KEY)
    backend = SandboxEmailBackend(
        latency_ms=0, events_delay_s=0.05, webhook_url=f"{server.url}/api/hook/mandrill/"
    )
    backend.open()
    for n in range(5):
        backend.send_messages([email(f"reader{n}@example.com", message_id=f"<{n}@mailpulse>")])
    backend.close()  # the batch's task goes to the broker

    # Each message's timeline starts with a delivery or a bounce: every recipient hears back.
    def recipients_heard_from() -> int:
        return EmailEvent.objects.filter(provider="mandrill").values("recipient").distinct().count()

    wait_until(
        lambda: recipients_heard_from() == 5, 60, f"5 recipients; worker log: {celery_worker}"
    )
    assert set(EmailEvent.objects.values_list("recipient", flat=True)) == {
        f"reader{n}@example.com" for n in range(5)
    }


def test_a_server_that_refuses_the_signature_drops_the_batch(daphne_factory, settings, worker):
    server = daphne_factory(MANDRILL_WEBHOOK_KEY=KEY)
    settings.MANDRILL_WEBHOOK_KEY = "not-the-servers-key"
    backend = SandboxEmailBackend(
        latency_ms=0, events_delay_s=0.01, webhook_url=f"{server.url}/api/hook/mandrill/"
    )
    backend.send_messages([email()])

    job = worker.jobs()[0]
    outcome = worker.task.run(job)

    assert "403" in outcome["refused"]
    assert not EmailEvent.objects.exists()


def test_an_unreachable_server_is_tried_again_later(settings, worker):
    backend = SandboxEmailBackend(
        latency_ms=0, events_delay_s=0.01, webhook_url="http://127.0.0.1:9/api/hook/mandrill/"
    )
    backend.send_messages([email()])
    job = worker.jobs()[0]
    worker.queue.clear()

    outcome = worker.task.run(job)

    assert "cannot reach" in outcome["retrying"]
    ((_, _, args),) = worker.queue
    assert args == [job, 0.0, 1]


# --- seed_demo


def seed_demo() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_creates_the_demo_once():
    first = seed_demo()

    account = ProviderAccount.objects.get()
    assert (account.name, account.kind, account.priority, account.enabled) == (
        "Sandbox",
        "sandbox",
        100,
        True,
    )
    assert account.credentials["mode"] == "up"
    demo = MailingList.objects.get(name="Demo")
    assert demo.subscribers.count() == 50
    assert demo.subscribers.filter(email__endswith=f"@{HARD_BOUNCE_DOMAIN}").count() == 1
    campaign = Campaign.objects.get()
    assert campaign.status == Campaign.Status.DRAFT
    assert list(campaign.lists.all()) == [demo]
    assert "{{ first_name" in campaign.html_content and campaign.from_email
    assert f"/campaigns/{campaign.pk}/" in first
    counts = (Subscriber.objects.count(), Campaign.objects.count(), ProviderAccount.objects.count())

    again = seed_demo()

    assert counts == (
        Subscriber.objects.count(),
        Campaign.objects.count(),
        ProviderAccount.objects.count(),
    )
    assert "0 demo subscribers created, 0 added" in again
    assert f"/campaigns/{campaign.pk}/" in again


@pytest.mark.django_db
def test_seed_demo_leaves_existing_provider_accounts_alone():
    ProviderAccount.objects.create(name="Production SMTP", kind="smtp", priority=10)

    output = seed_demo()

    assert list(ProviderAccount.objects.values_list("name", flat=True)) == ["Production SMTP"]
    assert "no sandbox account added" in output
    assert MailingList.objects.filter(name="Demo").exists()
