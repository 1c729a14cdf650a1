"""The campaigns REST API: who may do what, validation messages, and refusals by state."""

import pytest
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from mailer.models import Campaign, Message
from tests.mailer import factories
from tests.mailer.campaign_factories import campaign
from tests.mailer.smtp_server import smtp_server_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    return factories.client_for(staff_user)


def payload(**fields) -> dict:
    return {
        "name": "November news",
        "subject": "Hi {{ first_name }}",
        "html_content": "<p>Hello {{ first_name }}</p>",
        "from_email": "news@example.com",
        **fields,
    }


def test_anonymous_gets_401_and_viewer_may_read_but_not_write(api_client, user):
    target = campaign()
    assert APIClient().get("/api/campaigns/").status_code == 401
    assert api_client.get("/api/campaigns/").status_code == 200
    assert api_client.get(f"/api/campaigns/{target.pk}/").status_code == 200
    assert api_client.post("/api/campaigns/", payload(), format="json").status_code == 403
    for verb in ("send", "pause", "resume", "cancel", "test"):
        assert api_client.post(f"/api/campaigns/{target.pk}/{verb}/").status_code == 403
    assert api_client.delete(f"/api/campaigns/{target.pk}/").status_code == 403
    assert Campaign.objects.filter(pk=target.pk, status="draft").exists()


def test_staff_creates_a_draft_with_lists(staff_client, staff_user):
    mailing_list = factories.mailing_list()
    response = staff_client.post("/api/campaigns/", payload(lists=[mailing_list.pk]), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["lists"], body["created_by"]) == (
        "draft",
        [mailing_list.pk],
        staff_user.pk,
    )
    assert body["progress"] == {
        "total": 0,
        "done": 0,
        "counts": {},
        "funnel": {"sent": 0, "delivered": 0, "opened": 0, "clicked": 0},
    }


def test_merge_tag_syntax_error_is_a_field_error(staff_client):
    response = staff_client.post(
        "/api/campaigns/",
        payload(html_content="{% if first_name %}Hi", subject="{{ first_name|shout }}"),
        format="json",
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert "Unclosed tag" in fields["html_content"][0]
    assert "Invalid filter: 'shout'" in fields["subject"][0]


def test_send_starts_and_a_second_send_is_409_creating_nothing(
    staff_client, django_capture_on_commit_callbacks
):
    people = [factories.subscriber() for _ in range(3)]
    target = campaign(lists=[factories.mailing_list(members=people)])
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/api/campaigns/{target.pk}/send/")
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["total_recipients"]) == ("sending", 3)

    again = staff_client.post(f"/api/campaigns/{target.pk}/send/")
    assert again.status_code == 409
    assert again.json() == {
        "error": "conflict",
        "detail": "A sending campaign cannot be sent; only drafts and scheduled campaigns can.",
    }
    assert Message.objects.filter(campaign=target).count() == 3
    assert get_redis_connection("default").llen("celery") == 1


def test_send_without_recipients_or_from_address_says_so(staff_client, settings):
    settings.DEFAULT_FROM_EMAIL = ""
    empty = campaign(lists=[factories.mailing_list()])
    response = staff_client.post(f"/api/campaigns/{empty.pk}/send/")
    assert response.status_code == 400
    assert "no recipients" in response.json()["detail"]

    no_from = campaign(
        from_email="", lists=[factories.mailing_list(members=[factories.subscriber()])]
    )
    response = staff_client.post(f"/api/campaigns/{no_from.pk}/send/")
    assert response.status_code == 400
    assert response.json()["detail"] == "The campaign has no From address: set from_email."
    assert not Message.objects.exists()


def test_pause_resume_cancel_follow_the_state(staff_client, django_capture_on_commit_callbacks):
    target = campaign(lists=[factories.mailing_list(members=[factories.subscriber()])])
    url = f"/api/campaigns/{target.pk}"
    assert staff_client.post(f"{url}/pause/").status_code == 409
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(f"{url}/send/")
    assert staff_client.post(f"{url}/resume/").status_code == 409
    assert staff_client.post(f"{url}/pause/").json()["status"] == "paused"
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_client.post(f"{url}/resume/").json()["status"] == "sending"
    cancelled = staff_client.post(f"{url}/cancel/").json()
    assert (cancelled["status"], cancelled["progress"]["counts"]) == ("cancelled", {"cancelled": 1})
    assert staff_client.post(f"{url}/cancel/").status_code == 409


def test_schedule_then_cancel_returns_to_draft(staff_client):
    target = campaign(lists=[factories.mailing_list(members=[factories.subscriber()])])
    url = f"/api/campaigns/{target.pk}"
    response = staff_client.post(
        f"{url}/send/", {"scheduled_at": "2030-01-01T09:00:00Z"}, format="json"
    )
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["scheduled_at"]) == (
        "scheduled",
        "2030-01-01T09:00:00Z",
    )
    assert staff_client.post(f"{url}/cancel/").json()["status"] == "draft"


def test_only_drafts_are_deleted_and_only_drafts_or_scheduled_edited(
    staff_client, django_capture_on_commit_callbacks
):
    target = campaign(lists=[factories.mailing_list(members=[factories.subscriber()])])
    url = f"/api/campaigns/{target.pk}/"
    assert staff_client.patch(url, {"name": "Renamed"}, format="json").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(f"{url}send/")
    edit = staff_client.patch(url, {"name": "Too late"}, format="json")
    assert edit.status_code == 409
    assert "sending campaign cannot be edited" in edit.json()["detail"]
    delete = staff_client.delete(url)
    assert delete.status_code == 409
    assert "only drafts can" in delete.json()["detail"]
    draft = campaign()
    assert staff_client.delete(f"/api/campaigns/{draft.pk}/").status_code == 204


def test_preview_renders_for_the_chosen_subscriber(api_client):
    ada = factories.subscriber(first_name="Ada", attributes={"plan": "pro"})
    target = campaign(html_content="<p>{{ first_name }} on {{ attributes.plan }}</p>")
    response = api_client.get(f"/api/campaigns/{target.pk}/preview/?subscriber={ada.pk}")
    assert response.status_code == 200
    assert response.json() == {
        "subject": "News for Ada",
        "html": "<p>Ada on pro</p>",
        "text": "Ada on pro\n",
    }
    missing = api_client.get(f"/api/campaigns/{target.pk}/preview/?subscriber=999999")
    assert missing.status_code == 400


def test_test_send_goes_to_one_address_only(staff_client, smtp_server):
    ada = factories.subscriber(first_name="Ada")
    target = campaign(lists=[factories.mailing_list(members=[ada])])
    response = staff_client.post(
        f"/api/campaigns/{target.pk}/test/",
        {"email": "me@example.com", "subscriber": ada.pk},
        format="json",
    )
    assert response.status_code == 200, response.json()
    [received] = smtp_server.messages()
    assert received.recipient == "me@example.com"
    assert received.header("Subject") == "[Test] News for Ada"
    assert not Message.objects.exists()
    bad = staff_client.post(f"/api/campaigns/{target.pk}/test/", {"email": "x"}, format="json")
    assert bad.status_code == 400


def test_messages_are_listed_by_campaign_and_status(
    api_client, staff_client, django_capture_on_commit_callbacks
):
    people = [factories.subscriber() for _ in range(3)]
    target = campaign(lists=[factories.mailing_list(members=people)])
    other = campaign(lists=[factories.mailing_list(members=people[:1])])
    with django_capture_on_commit_callbacks(execute=True):
        for each in (target, other):
            staff_client.post(f"/api/campaigns/{each.pk}/send/")
    Message.objects.filter(campaign=target, email=people[0].email).update(status="sent")

    page = api_client.get(f"/api/messages/?campaign={target.pk}&status=queued,sending")
    assert page.status_code == 200
    emails = {m["email"] for m in page.json()["results"]}
    assert emails == {people[1].email, people[2].email}
    assert api_client.get("/api/messages/?status=nope").status_code == 400
    assert api_client.post("/api/messages/", {}).status_code in (403, 405)
