"""Campaign pages through Django's test client: the editor saves or explains, and only staff
see and use the send controls."""

import pytest
from django.test import Client

from mailer.models import Campaign
from tests.mailer import factories
from tests.mailer.campaign_factories import campaign

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_post(client: Client, url: str, data: dict):
    """POST as a browser does: with the token from the form page's cookie."""
    client.get("/campaigns/")
    return client.post(url, {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def test_editor_saves_a_new_campaign_with_its_lists(staff_user):
    client = client_for(staff_user)
    mailing_list = factories.mailing_list(name="Readers")
    page = client.get("/campaigns/new/")
    assert page.status_code == 200
    assert "Readers" in page.content.decode()

    response = csrf_post(
        client,
        "/campaigns/new/",
        {
            "name": "Spring",
            "subject": "Hi {{ first_name }}",
            "html_content": "<p>Hello</p>",
            "lists": [mailing_list.pk],
            "is_active": "on",
        },
    )
    saved = Campaign.objects.get(name="Spring")
    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/{saved.pk}/edit/"
    assert list(saved.lists.all()) == [mailing_list]
    assert saved.created_by == staff_user


def test_editor_shows_merge_tag_errors_and_saves_nothing(staff_user):
    response = csrf_post(
        client_for(staff_user),
        "/campaigns/new/",
        {"name": "Broken", "subject": "x", "html_content": "{% if first_name %}Hi"},
    )
    assert response.status_code == 400
    assert "Merge tag error: Unclosed tag" in response.content.decode()
    assert not Campaign.objects.filter(name="Broken").exists()


def test_editor_and_actions_are_for_staff_only(user):
    target = campaign()
    client = client_for(user)
    assert client.get("/campaigns/new/").status_code == 403
    assert client.get(f"/campaigns/{target.pk}/edit/").status_code == 403
    assert csrf_post(client, f"/campaigns/{target.pk}/send/", {}).status_code == 403
    target.refresh_from_db()
    assert target.status == "draft"


def test_detail_shows_send_buttons_to_staff_only(user, staff_user):
    target = campaign(lists=[factories.mailing_list(members=[factories.subscriber()])])
    url = f"/campaigns/{target.pk}/"
    assert "Send now" not in client_for(user).get(url).content.decode()
    staff_page = client_for(staff_user).get(url).content.decode()
    assert "Send now" in staff_page
    assert 'data-confirm="Send “' in staff_page
    assert "csrfmiddlewaretoken" in staff_page


def test_send_and_pause_from_the_page(staff_user, django_capture_on_commit_callbacks):
    target = campaign(lists=[factories.mailing_list(members=[factories.subscriber()])])
    client = client_for(staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = csrf_post(client, f"/campaigns/{target.pk}/send/", {})
    assert response.status_code == 302
    page = client.get(f"/campaigns/{target.pk}/").content.decode()
    assert "Pause" in page
    assert '0</span> of <span id="send-total">1</span>' in page

    csrf_post(client, f"/campaigns/{target.pk}/pause/", {})
    target.refresh_from_db()
    assert target.status == "paused"
    refused = csrf_post(client, f"/campaigns/{target.pk}/send/", {})
    assert "paused campaign cannot be sent" in client.get(refused["Location"]).content.decode()


def test_list_shows_status_progress_and_create_button_for_staff(staff_user, user):
    campaign(name="Autumn")
    staff_page = client_for(staff_user).get("/campaigns/").content.decode()
    assert "Autumn" in staff_page
    assert "New campaign" in staff_page
    assert "New campaign" not in client_for(user).get("/campaigns/").content.decode()


def test_funnel_counts_unique_messages_by_their_furthest_state(client, staff_user):
    from mailer.models import Campaign, Message, Subscriber

    campaign = Campaign.objects.create(
        name="Autumn", status=Campaign.Status.SENT, total_recipients=3
    )
    for n, status in enumerate(["clicked", "opened", "bounced"]):
        subscriber = Subscriber.objects.create(email=f"r{n}@example.com")
        Message.objects.create(
            campaign=campaign, subscriber=subscriber, email=subscriber.email, status=status
        )
    client.force_login(staff_user)

    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()

    assert 'data-count="recipients" data-value="3"' in page
    assert 'data-count="sent" data-value="3"' in page
    assert 'data-count="delivered" data-value="2"' in page
    assert 'data-count="opened" data-value="2"' in page
    assert 'data-count="clicked" data-value="1"' in page
