import pytest

from events import observers
from events.models import EmailEvent
from tests.events.webhook_helpers import mandrill_event, post_mandrill

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def failing_observer():
    def explode(batch):
        raise RuntimeError("observer bug")

    observers._observers.insert(0, ("exploding", explode))
    yield
    observers._observers.remove(("exploding", explode))


def test_failing_observer_never_fails_the_webhook_or_the_other_observers(
    client, api_client, failing_observer
):
    before = observers.failure_counts["exploding"]

    response = post_mandrill(client, [mandrill_event("open")])

    assert response.status_code == 200
    assert EmailEvent.objects.count() == 1
    assert observers.failure_counts["exploding"] == before + 1
    live = api_client.get("/api/events/live/").json()
    assert live["counters"]["types"] == {"opened": 1}


def test_observers_see_only_newly_stored_events_once(client, api_client):
    batch = [mandrill_event("open", ts=1700000000)]
    post_mandrill(client, batch)
    post_mandrill(client, batch)

    live = api_client.get("/api/events/live/").json()
    assert live["counters"]["types"] == {"opened": 1}
    assert len(live["events"]) == 1
