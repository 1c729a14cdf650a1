"""Fixtures for the real services, shared by every test: PostgreSQL (pytest-django's test
database), the test Redis database, throwaway Redis servers and live daphne servers."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from events import redis_keys
from tests.dashboard_listener import ProgressFrames
from tests.servers import RedisServer, start_daphne


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup, django_db_blocker):
    """Servers the tests stopped, and threads of async tests, may leave sessions open on the
    test database; close them so it can be dropped at the end."""
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _clean_redis():
    """Each test starts with an empty test Redis database but for the live view's `built`
    marker: an empty live view is the true view of the empty test database, as if
    `rebuild_live` had just run (without it, servers would rebuild and resync dashboards at
    their first probe). It ends empty."""
    redis = get_redis_connection("default")
    redis.flushdb()
    redis.set(redis_keys.built(), int(time.time() * 1000))
    yield
    redis.flushdb()


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("viewer", "viewer@example.com", "pw-viewer-123")


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_user(
        "ops", "ops@example.com", "pw-ops-12345", is_staff=True
    )


@pytest.fixture
def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def provider_frames():
    """Provider state frames as dashboards receive them, over the real channel layer."""
    frames = ProgressFrames("provider")
    frames.start()
    yield frames
    frames.stop()


@pytest.fixture
def redis_server(tmp_path):
    """A throwaway Redis server of the test's own, which the test may stop and start."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def daphne_factory(transactional_db):
    """Starts live daphne servers on the test database; each is stopped after the test."""
    servers = []

    def start(**env):
        server = start_daphne(**env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def live_server_url(daphne_factory) -> str:
    return daphne_factory().url
