"""The unsubscribe link of every email: confirm page, POST, and RFC 8058 one-click."""

import pytest

from events.models import EmailEvent
from mailer.models import Campaign, Message, Subscriber, Suppression
from mailer.unsubscribe import list_unsubscribe_headers, unsubscribe_token, unsubscribe_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def message():
    campaign = Campaign.objects.create(name="Autumn", status=Campaign.Status.SENDING)
    subscriber = Subscriber.objects.create(email="kim@example.com", first_name="Kim")
    return Message.objects.create(
        campaign=campaign, subscriber=subscriber, email=subscriber.email, status="sent"
    )


def _path(message) -> str:
    return f"/unsubscribe/{unsubscribe_token(message)}/"


def test_link_opens_a_confirmation_page_that_changes_nothing(client, message):
    response = client.get(_path(message))

    assert response.status_code == 200
    assert b"kim@example.com" in response.content
    assert b"Unsubscribe" in response.content
    assert not EmailEvent.objects.exists()
    assert Subscriber.objects.get().status == "active"


def test_confirming_unsubscribes_through_the_event_path(client, message):
    response = client.post(_path(message))

    assert response.status_code == 200
    assert b"You are unsubscribed" in response.content
    event = EmailEvent.objects.get()
    assert (event.provider, event.type, event.recipient) == (
        "mailpulse",
        "unsubscribed",
        "kim@example.com",
    )
    assert event.campaign_id == message.campaign_id
    assert Suppression.objects.get().reason == "unsubscribe"
    assert Subscriber.objects.get().status == "unsubscribed"


def test_one_click_post_from_a_mail_client_needs_no_csrf_token(message):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(
        _path(message),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert EmailEvent.objects.get().provider_event == "unsubscribe-one-click"


def test_a_second_unsubscribe_stores_nothing_new(client, message):
    client.post(_path(message))
    client.post(_path(message))

    assert EmailEvent.objects.count() == 1
    assert Suppression.objects.count() == 1


def test_forged_token_is_refused(client, message):
    response = client.get(f"/unsubscribe/{unsubscribe_token(message)}x/")

    assert response.status_code == 404
    assert b"not valid" in response.content
    assert client.post("/unsubscribe/forged/").status_code == 404
    assert not EmailEvent.objects.exists()


def test_headers_carry_the_one_click_url(message, settings):
    settings.SITE_URL = "https://mail.example.com"
    settings.UNSUBSCRIBE_MAILTO = "unsubscribe@example.com"

    headers = list_unsubscribe_headers(message)

    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"<{unsubscribe_url(message)}>" in headers["List-Unsubscribe"]
    assert unsubscribe_url(message).startswith("https://mail.example.com/unsubscribe/")
    assert "<mailto:unsubscribe@example.com?subject=unsubscribe-" in headers["List-Unsubscribe"]
