"""Shared by the security tests: one of every object the routes address, and the browser
fixtures of tests/e2e for test_xss."""

import pytest

from mailer.models import Message, SubscriberImport, Suppression
from mailer.services.providers import provider_create
from tests.e2e.conftest import browser, oncall, page, server, start_server  # noqa: F401
from tests.events.factories import ingest
from tests.mailer import factories
from tests.mailer.campaign_factories import campaign


@pytest.fixture
def world(db, staff_user) -> dict:
    """One of every object the routes address."""
    subscriber = factories.subscriber(first_name="Ada")
    mailing_list = factories.mailing_list(members=[subscriber])
    target = campaign(lists=[mailing_list], created_by=staff_user)
    message = Message.objects.create(campaign=target, subscriber=subscriber, email=subscriber.email)
    [event] = ingest(message_id="matrix-msg-1", recipient=subscriber.email)
    provider = provider_create(
        name="Sandbox", kind="sandbox", credentials={"mode": "up"}, priority=1
    )
    upload = SubscriberImport.objects.create(original_name="people.csv", content=b"email\n")
    return {
        "subscriber": subscriber.pk,
        "list": mailing_list.pk,
        "segment": factories.segment({"status": ["active"]}).pk,
        "campaign": target.pk,
        "message": message.pk,
        "message_id": event.message_id,
        "event": event.pk,
        "provider": provider.pk,
        "import": upload.pk,
        "suppression": Suppression.objects.create(email="x@example.com", reason="manual").pk,
        "token": "not-a-real-token",
    }
