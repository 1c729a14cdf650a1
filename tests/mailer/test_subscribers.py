"""The subscribers API: staff write, viewers read, anonymous callers are refused."""

import pytest
from rest_framework.test import APIClient

from mailer.models import Subscriber
from tests.mailer.factories import client_for, mailing_list, subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    return client_for(staff_user)


def test_staff_creates_a_subscriber_with_lists_and_attributes(staff_client):
    newsletter = mailing_list("Newsletter")

    response = staff_client.post(
        "/api/subscribers/",
        {
            "email": "  Ada@Example.com ",
            "first_name": "Ada",
            "attributes": {"plan": "pro"},
            "lists": [newsletter.pk],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["email"] == "Ada@Example.com"
    assert body["status"] == "active"
    assert body["attributes"] == {"plan": "pro"}
    assert body["lists"] == [newsletter.pk]
    assert Subscriber.objects.get(pk=body["id"]).lists.get() == newsletter


def test_staff_lists_searches_and_filters_subscribers(staff_client):
    subscriber(email="ada@example.com", first_name="Ada")
    subscriber(email="bob@example.com", status="bounced")
    member = subscriber(email="cy@example.com")
    mailing_list("VIP", members=[member])

    everyone = staff_client.get("/api/subscribers/").json()
    by_name = staff_client.get("/api/subscribers/?search=ADA").json()
    bounced = staff_client.get("/api/subscribers/?status=bounced").json()
    in_list = staff_client.get(f"/api/subscribers/?list={member.lists.get().pk}").json()

    assert everyone["count"] == 3
    assert [s["email"] for s in by_name["results"]] == ["ada@example.com"]
    assert [s["email"] for s in bounced["results"]] == ["bob@example.com"]
    assert [s["email"] for s in in_list["results"]] == ["cy@example.com"]


def test_list_is_paginated_with_a_count(staff_client):
    for _ in range(3):
        subscriber()

    page = staff_client.get("/api/subscribers/?page_size=2&page=2").json()

    assert page["count"] == 3
    assert len(page["results"]) == 1
    assert page["previous"]


def test_unknown_status_filter_is_a_clear_400(staff_client):
    response = staff_client.get("/api/subscribers/?status=sleepy")

    assert response.status_code == 400
    assert "Choose one of" in response.json()["fields"]["status"][0]


def test_staff_updates_and_deletes_a_subscriber(staff_client):
    ada = subscriber(email="ada@example.com")

    patched = staff_client.patch(
        f"/api/subscribers/{ada.pk}/", {"last_name": "Lovelace", "is_active": False}, format="json"
    )
    deleted = staff_client.delete(f"/api/subscribers/{ada.pk}/")

    assert patched.status_code == 200
    assert patched.json()["last_name"] == "Lovelace"
    assert patched.json()["is_active"] is False
    assert deleted.status_code == 204
    assert not Subscriber.objects.filter(pk=ada.pk).exists()


def test_same_email_in_another_case_is_refused_with_a_clear_message(staff_client):
    subscriber(email="ada@example.com")

    response = staff_client.post("/api/subscribers/", {"email": "ADA@example.COM"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid"
    assert body["fields"]["email"] == ["A subscriber with this email already exists."]
    assert Subscriber.objects.count() == 1


def test_changing_email_to_a_taken_one_is_refused(staff_client):
    subscriber(email="ada@example.com")
    bob = subscriber(email="bob@example.com")

    response = staff_client.patch(
        f"/api/subscribers/{bob.pk}/", {"email": "Ada@example.com"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"]["email"] == ["A subscriber with this email already exists."]


def test_invalid_email_is_refused(staff_client):
    response = staff_client.post("/api/subscribers/", {"email": "bob@"}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"]["email"] == ["Enter a valid email address."]


def test_attributes_must_be_an_object(staff_client):
    response = staff_client.post(
        "/api/subscribers/", {"email": "a@example.com", "attributes": [1, 2]}, format="json"
    )

    assert response.status_code == 400
    assert "object" in response.json()["fields"]["attributes"][0]


def test_viewer_reads_but_cannot_write(api_client):
    ada = subscriber(email="ada@example.com")

    listed = api_client.get("/api/subscribers/")
    one = api_client.get(f"/api/subscribers/{ada.pk}/")
    created = api_client.post("/api/subscribers/", {"email": "x@example.com"}, format="json")
    patched = api_client.patch(f"/api/subscribers/{ada.pk}/", {"first_name": "X"}, format="json")
    deleted = api_client.delete(f"/api/subscribers/{ada.pk}/")

    assert listed.status_code == 200
    assert one.json()["email"] == "ada@example.com"
    assert [created.status_code, patched.status_code, deleted.status_code] == [403, 403, 403]
    assert created.json()["error"] == "permission_denied"
    assert Subscriber.objects.count() == 1


def test_anonymous_caller_gets_401():
    response = APIClient().get("/api/subscribers/")

    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
