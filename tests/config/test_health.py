import httpx
import pytest


@pytest.mark.django_db
def test_healthz_reports_both_services_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok", "spool": 0}


def test_healthz_answers_503_naming_redis_when_redis_is_stopped(daphne_factory, redis_server):
    server = daphne_factory(REDIS_URL=redis_server.url)
    assert httpx.get(f"{server.url}/healthz").json() == {
        "database": "ok",
        "redis": "ok",
        "spool": 0,
    }

    redis_server.stop()
    response = httpx.get(f"{server.url}/healthz", timeout=10)

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "redis": "down", "spool": None}


def test_healthz_answers_503_naming_the_database_when_it_is_unreachable(daphne_factory):
    from tests.servers import free_port

    server = daphne_factory(DATABASE_URL=f"postgres://nobody@127.0.0.1:{free_port()}/none")
    response = httpx.get(f"{server.url}/healthz", timeout=10)

    assert response.status_code == 503
    assert response.json() == {"database": "down", "redis": "ok", "spool": 0}


@pytest.mark.django_db
def test_healthz_counts_the_webhook_spool_without_failing_on_it(client):
    from events.normalized import NormalizedEvent
    from events.spool import spool_append

    event = NormalizedEvent.build(type="delivered", recipient="ada@example.com", message_id="m")
    spool_append(provider="mandrill", events=[event])

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok", "spool": 1}
