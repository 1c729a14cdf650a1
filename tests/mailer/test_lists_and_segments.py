"""Lists (members, export) and saved segments (rules, live counts)."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from mailer.models import Segment
from tests.events.factories import ingest
from tests.mailer.factories import client_for, mailing_list, segment, subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(staff_user):
    return client_for(staff_user)


def _days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def test_staff_creates_a_list_and_adds_and_removes_members(staff_client):
    ada, bob = subscriber(), subscriber()

    created = staff_client.post("/api/lists/", {"name": "Newsletter"}, format="json")
    list_id = created.json()["id"]
    added = staff_client.post(
        f"/api/lists/{list_id}/members/add/", {"subscribers": [ada.pk, bob.pk]}, format="json"
    )
    again = staff_client.post(
        f"/api/lists/{list_id}/members/add/", {"subscribers": [ada.pk]}, format="json"
    )
    removed = staff_client.post(
        f"/api/lists/{list_id}/members/remove/", {"subscribers": [bob.pk]}, format="json"
    )
    shown = staff_client.get(f"/api/lists/{list_id}/").json()

    assert created.status_code == 201
    assert added.json() == {"changed": 2}
    assert again.json() == {"changed": 0}
    assert removed.json() == {"changed": 1}
    assert shown["member_count"] == 1


def test_duplicate_list_name_is_refused(staff_client):
    mailing_list("Newsletter")

    response = staff_client.post("/api/lists/", {"name": "Newsletter"}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"]["name"] == ["A list with this name already exists."]


def test_viewer_cannot_change_members(api_client):
    newsletter = mailing_list()

    response = api_client.post(
        f"/api/lists/{newsletter.pk}/members/add/", {"subscribers": [1]}, format="json"
    )

    assert response.status_code == 403


def test_list_export_is_a_csv_of_its_members_with_a_header(staff_client):
    ada = subscriber(email="ada@example.com", first_name="Ada", attributes={"plan": "=pro"})
    bob = subscriber(email="bob@example.com", attributes={"city": "Oslo"})
    subscriber(email="not-a-member@example.com")
    newsletter = mailing_list(members=[ada, bob])

    response = staff_client.get(f"/api/lists/{newsletter.pk}/export/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["email"] for r in rows] == ["ada@example.com", "bob@example.com"]
    assert rows[0]["first_name"] == "Ada"
    assert rows[0]["plan"] == "'=pro"  # a formula is never run by a spreadsheet
    assert rows[1]["city"] == "Oslo"


def test_segment_matches_list_membership_status_and_attributes(staff_client):
    pro = subscriber(attributes={"plan": "pro"})
    free = subscriber(attributes={"plan": "free"})
    gone = subscriber(attributes={"plan": "pro"}, status="unsubscribed")
    subscriber(attributes={"plan": "pro"})  # not in the list
    customers = mailing_list(members=[pro, free, gone])

    response = staff_client.post(
        "/api/segments/",
        {
            "name": "Active pros",
            "rules": {"lists": [customers.pk], "status": ["active"], "attributes": {"plan": "pro"}},
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["count"] == 1
    count = staff_client.get(f"/api/segments/{response.json()['id']}/count/").json()
    assert count == {"count": 1}


def test_opened_within_days_counts_only_recent_opens(staff_client):
    recent = subscriber(email="recent@example.com")
    subscriber(email="old@example.com")
    subscriber(email="never@example.com")
    ingest(types=["opened"], recipient="RECENT@example.com", timestamp=_days_ago(10))
    ingest(types=["opened"], recipient="old@example.com", timestamp=_days_ago(40))
    engaged = segment({"opened_within_days": 30})

    body = staff_client.get(f"/api/segments/{engaged.pk}/").json()
    exported = staff_client.get(f"/api/segments/{engaged.pk}/export/")

    assert body["count"] == 1
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert [r[0] for r in rows[1:]] == [recent.email]


def test_clicked_within_days_rule(staff_client):
    subscriber(email="clicker@example.com")
    subscriber(email="opener@example.com")
    ingest(types=["clicked"], recipient="clicker@example.com", timestamp=_days_ago(3))
    ingest(types=["opened"], recipient="opener@example.com", timestamp=_days_ago(3))

    response = staff_client.post(
        "/api/segments/preview-count/", {"clicked_within_days": 7}, format="json"
    )

    assert response.json() == {"count": 1}


def test_viewer_may_preview_a_count_but_not_save_a_segment(api_client):
    subscriber(status="bounced")

    preview = api_client.post(
        "/api/segments/preview-count/", {"status": ["bounced"]}, format="json"
    )
    saved = api_client.post("/api/segments/", {"name": "x", "rules": {}}, format="json")

    assert preview.json() == {"count": 1}
    assert saved.status_code == 403


def test_invalid_rules_are_explained(staff_client):
    response = staff_client.post(
        "/api/segments/preview-count/",
        {"status": ["sleepy"], "lists": [999], "opened_within_days": 0},
        format="json",
    )

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"status", "lists", "opened_within_days"}


def test_segment_rules_are_stored_without_empty_rules(staff_client):
    response = staff_client.post(
        "/api/segments/",
        {"name": "Openers", "rules": {"opened_within_days": 30, "status": [], "lists": []}},
        format="json",
    )

    assert Segment.objects.get(pk=response.json()["id"]).rules == {"opened_within_days": 30}
