"""The suppression list: kept by hand through the API, filled by events via suppression_add."""

import pytest

from mailer.models import Subscriber, Suppression
from mailer.services.audience import suppression_add
from tests.events.factories import ingest
from tests.mailer.factories import client_for, subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(staff_user):
    return client_for(staff_user)


def test_staff_adds_and_removes_a_suppression_by_hand(staff_client):
    added = staff_client.post(
        "/api/suppressions/", {"email": "x@example.com", "note": "asked by phone"}, format="json"
    )
    listed = staff_client.get("/api/suppressions/?search=X@").json()
    removed = staff_client.delete(f"/api/suppressions/{added.json()['id']}/")

    assert added.status_code == 201
    assert added.json()["reason"] == "manual"
    assert listed["count"] == 1
    assert removed.status_code == 204
    assert not Suppression.objects.exists()


def test_staff_corrects_reason_and_note(staff_client):
    suppression = suppression_add(email="x@example.com", reason="manual")

    response = staff_client.patch(
        f"/api/suppressions/{suppression.pk}/",
        {"reason": "complaint", "note": "forwarded by the ISP"},
        format="json",
    )

    assert response.status_code == 200
    suppression.refresh_from_db()
    assert (suppression.reason, suppression.note) == ("complaint", "forwarded by the ISP")


def test_viewer_reads_but_cannot_add(api_client):
    suppression_add(email="x@example.com", reason="manual")

    listed = api_client.get("/api/suppressions/")
    added = api_client.post("/api/suppressions/", {"email": "y@example.com"}, format="json")

    assert listed.json()["count"] == 1
    assert added.status_code == 403


def test_suppression_add_is_idempotent_and_keeps_the_first(db):
    first = suppression_add(email="Bounce@example.com", reason="hard_bounce", note="5.1.1")

    again = suppression_add(email="bounce@EXAMPLE.com", reason="complaint")

    assert again.pk == first.pk
    assert Suppression.objects.get().reason == "hard_bounce"


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("hard_bounce", "bounced"),
        ("complaint", "complained"),
        ("unsubscribe", "unsubscribed"),
        ("manual", "active"),
    ],
)
def test_suppression_sets_the_subscribers_status(db, reason, status):
    person = subscriber(email="Person@example.com")

    suppression_add(email="person@example.com", reason=reason)

    person.refresh_from_db()
    assert person.status == status


def test_suppression_keeps_the_event_that_caused_it(staff_client):
    [event] = ingest(types=["bounced"], recipient="gone@example.com")
    suppression_add(email="gone@example.com", reason="hard_bounce", event=event)

    body = staff_client.get("/api/suppressions/").json()["results"][0]

    assert body["event"] == event.pk
    assert body["event_url"] == f"/api/events/{event.pk}/"


def test_removing_a_suppression_leaves_the_status_as_it_was(staff_client):
    person = subscriber(email="p@example.com")
    suppression = suppression_add(email="p@example.com", reason="complaint")

    staff_client.delete(f"/api/suppressions/{suppression.pk}/")

    assert Subscriber.objects.get(pk=person.pk).status == "complained"


def test_invalid_address_or_reason_is_refused(staff_client):
    response = staff_client.post(
        "/api/suppressions/", {"email": "nope", "reason": "because"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"email", "reason"}
