"""Two of everything (issue 9): two ASGI servers on different ports and two Celery workers on
the same PostgreSQL and Redis behave as one product. A webhook posted to server A reaches a
dashboard on server B; a campaign sent from A is split across both workers and each recipient
gets exactly one mail; with A stopped, B keeps serving and A's dashboards move to B and resume
without losing anything."""

import re
from collections import Counter

import httpx
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from events.models import EmailEvent
from mailer.models import Campaign, Message
from tests.celery_workers import celery_workers_fixture  # noqa: F401
from tests.e2e.conftest import MANDRILL_KEY, event, post_events
from tests.live_dashboards import LiveDashboards
from tests.mailer.campaign_factories import audience, campaign
from tests.mailer.smtp_server import smtp_server_fixture  # noqa: F401
from tests.servers import wait_until

RECIPIENTS = 600
CHUNK = 25
SMTP_DELAY_S = 0.005
DASHBOARDS_ON_A = 5
SENT_CHUNK = re.compile(r"send_chunk\[[^\]]+\] succeeded in [\d.]+s: \{'sent': (\d+)")


def webhook_ids() -> set[int]:
    return set(EmailEvent.objects.filter(provider="mandrill").values_list("id", flat=True))


def sent_by(worker_log: str) -> int:
    return sum(int(n) for n in SENT_CHUNK.findall(worker_log))


def test_two_servers_and_two_workers_serve_as_one(daphne_factory, celery_workers, smtp_server):
    # One-event snapshots: what A's dashboards show after moving to B came from their resume.
    env = {"MANDRILL_WEBHOOK_KEY": MANDRILL_KEY, "SEND_CHUNK_SIZE": str(CHUNK)}
    a, b = (daphne_factory(LIVE_SNAPSHOT_EVENTS="1", **env) for _ in range(2))
    workers = celery_workers(EMAIL_URL=smtp_server.url)
    processes = [workers.start(concurrency=2), workers.start(concurrency=2)]
    for process in processes:
        workers.wait_ready(process)
    smtp_server.delay_s = SMTP_DELAY_S
    staff = get_user_model().objects.create_user("ops", password="pw-ops-12345", is_staff=True)
    token = Token.objects.create(user=staff).key
    on_b = LiveDashboards([b.url], [token]).start()
    on_a = LiveDashboards([a.url, b.url], [token] * DASHBOARDS_ON_A).start()

    # A webhook posted to A reaches the dashboard connected to B.
    post_events(a, [event("delivered", "ada@example.com", "m-a")])
    on_b.wait_showing(webhook_ids(), timeout_s=10)

    # A campaign sent from A: both workers take chunks; each recipient gets one mail.
    target = campaign(lists=[audience(RECIPIENTS)])
    sent = httpx.post(
        f"{a.url}/api/campaigns/{target.pk}/send/",
        headers={"Authorization": f"Token {token}"},
        json={},
        timeout=30,
    )
    assert sent.status_code == 202, sent.text
    wait_until(lambda: Campaign.objects.get(pk=target.pk).status == "sent", 90, "campaign sent")
    assert set(Message.objects.filter(campaign=target).values_list("status", flat=True)) == {"sent"}
    received = Counter(r.recipient for r in smtp_server.messages())
    expected = {e.lower() for e in target.messages.values_list("email", flat=True)}
    assert set(received) == expected
    assert set(received.values()) == {1}

    def by_worker() -> list[int]:
        return [sent_by(workers.output(process)) for process in processes]

    # The last chunk finishes the campaign just before its worker logs it.
    wait_until(lambda: sum(by_worker()) == RECIPIENTS, 10, "every chunk logged")
    assert all(by_worker()), f"one worker sent everything: {by_worker()}"
    finished = {"kind": "campaign", "id": target.pk, "status": "sent"}
    wait_until(
        lambda: any(finished.items() <= frame.items() for frame in on_b.dashboards[0].progress),
        10,
        "the campaign's end on B's dashboard",
    )

    # A stops: B keeps serving, and A's dashboards reconnect to B and resume.
    a.stop()
    post_events(b, [event("delivered", f"away{i}@example.com", f"m-away-{i}") for i in range(5)])
    assert httpx.get(f"{b.url}/healthz", timeout=10).status_code == 200
    wait_until(lambda: all(d.url == b.url and d.live for d in on_a), 30, "A's dashboards on B")
    post_events(b, [event("open", "ada@example.com", "m-a-2")])

    posted = webhook_ids()
    assert len(posted) == 7
    on_a.wait_showing(posted)
    on_b.wait_showing(posted)
    on_a.stop()
    on_b.stop()
    totals = {"sent": RECIPIENTS, "delivered": 6, "opened": 1}
    assert EmailEvent.objects.filter(type="sent").count() == RECIPIENTS
    for dashboard in [*on_a, *on_b]:
        assert dashboard.counters["types"] == totals
        assert dashboard.repeated == []
    assert all(d.connections == 2 for d in on_a)
    assert all(d.connections == 1 for d in on_b), "B's dashboards were never cut off"
