"""Real outages (issue 8, faults 1 and 2): a webhook is acknowledged only once stored or
spooled, and the live view recovers. (PostgreSQL stopped for real, and the spool drained:
test_postgres_down.py.)"""

import os
import subprocess
import sys

import httpx
import pytest

from events.models import EmailEvent
from events.spool import spool_depth
from tests.events.webhook_helpers import mandrill_event
from tests.servers import ROOT, database_url_for_tests, free_port


def _post(server, events) -> httpx.Response:
    import json

    return httpx.post(
        f"{server.url}/api/hook/mandrill/",
        data={"mandrill_events": json.dumps(events)},
        timeout=30,
    )


def test_database_unreachable_spools_the_events_and_acknowledges(daphne_factory):
    server = daphne_factory(DATABASE_URL=f"postgres://nobody@127.0.0.1:{free_port()}/none")

    response = _post(server, [mandrill_event(), mandrill_event(message_id="msg-2")])

    assert response.status_code == 200
    assert response.json()["spooled"] is True
    assert response.json()["stored"] == 0
    assert spool_depth() == 1
    assert not EmailEvent.objects.exists()


def test_database_and_redis_unreachable_answers_503_so_the_provider_retries(daphne_factory):
    server = daphne_factory(
        DATABASE_URL=f"postgres://nobody@127.0.0.1:{free_port()}/none",
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )

    response = _post(server, [mandrill_event()])

    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"
    assert response.headers["Retry-After"]
    assert not EmailEvent.objects.exists()
    assert spool_depth() == 0


def test_redis_down_still_stores_and_rebuild_live_restores_the_view(daphne_factory, redis_server):
    server = daphne_factory(REDIS_URL=redis_server.url)
    assert _post(server, [mandrill_event("delivered", message_id="before")]).status_code == 200

    redis_server.stop()
    during = _post(server, [mandrill_event("hard_bounce", message_id="during")])

    assert during.status_code == 200
    assert set(EmailEvent.objects.values_list("message_id", flat=True)) == {"before", "during"}

    redis_server.start()
    _manage(redis_server.url, "rebuild_live")
    token = _token()
    live = httpx.get(
        f"{server.url}/api/events/live/", headers={"Authorization": f"Token {token}"}, timeout=10
    ).json()

    assert live["counters"]["types"] == {"delivered": 1, "bounced": 1}
    assert [e["message_id"] for e in live["events"]] == ["during", "before"]


def _manage(redis_url: str, *args: str) -> str:
    """A management command in a process of its own, on the test database and this Redis."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "DATABASE_URL": database_url_for_tests(),
            "REDIS_URL": redis_url,
        },
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout


REPAIR = "from events.live_tasks import repair_live_view as r; print(r())"


def test_a_redis_outage_with_no_dashboard_open_is_repaired_by_the_beat_task(
    daphne_factory, redis_server
):
    server = daphne_factory(REDIS_URL=redis_server.url)
    assert _post(server, [mandrill_event("delivered", message_id="before")]).status_code == 200
    assert (
        _manage(redis_server.url, "shell", "-v", "0", "-c", REPAIR).strip() == "rebuilt"
    )  # a first build
    assert _manage(redis_server.url, "shell", "-v", "0", "-c", REPAIR).strip() == "trusted"

    redis_server.stop()
    assert _post(server, [mandrill_event("hard_bounce", message_id="during")]).status_code == 200
    redis_server.start()  # with its data (append-only file): the counters lack "during"
    assert _post(server, [mandrill_event("open", message_id="after")]).status_code == 200
    token = _token()
    stats = httpx.get(
        f"{server.url}/api/events/stats/", headers={"Authorization": f"Token {token}"}, timeout=10
    ).json()
    assert stats["source"] == "database"  # the live view is known to have missed a batch
    assert stats["totals"] == {"delivered": 1, "bounced": 1, "opened": 1}

    assert _manage(redis_server.url, "shell", "-v", "0", "-c", REPAIR).strip() == "rebuilt"

    live = httpx.get(
        f"{server.url}/api/events/live/", headers={"Authorization": f"Token {token}"}, timeout=10
    ).json()
    assert live["counters"]["types"] == {"delivered": 1, "bounced": 1, "opened": 1}
    assert [e["message_id"] for e in live["events"]] == ["after", "during", "before"]
    stats = httpx.get(
        f"{server.url}/api/events/stats/", headers={"Authorization": f"Token {token}"}, timeout=10
    ).json()
    assert (stats["source"], stats["totals"]) == ("live", live["counters"]["types"])


def _token() -> str:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.create_user("ops", password="pw-ops-12345")
    return Token.objects.create(user=user).key


pytestmark = pytest.mark.django_db(transaction=True)
