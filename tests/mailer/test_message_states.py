"""Events join their messages: each message keeps its furthest state; bad news suppresses."""

import pytest

from events.models import EmailEvent
from mailer.models import Campaign, Message, Subscriber, Suppression
from tests.events.factories import ingest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def message():
    campaign = Campaign.objects.create(name="Autumn", status=Campaign.Status.SENDING)
    subscriber = Subscriber.objects.create(email="Ada@Example.com")
    return Message.objects.create(
        campaign=campaign,
        subscriber=subscriber,
        email=subscriber.email,
        status=Message.Status.SENT,
        provider="mandrill",
        provider_message_id="prov-1",
    )


def _state(message) -> str:
    return Message.objects.get(pk=message.pk).status


def test_events_move_a_message_forward_by_provider_message_id(message):
    ingest(types=["delivered"], message_id="prov-1")
    assert _state(message) == "delivered"

    ingest(types=["opened", "clicked"], message_id="prov-1")
    assert _state(message) == "clicked"


def test_out_of_order_events_leave_the_furthest_state(message):
    ingest(types=["clicked"], message_id="prov-1")
    ingest(types=["opened"], message_id="prov-1")
    ingest(types=["delivered"], message_id="prov-1")
    ingest(types=["deferred"], message_id="prov-1")

    assert _state(message) == "clicked"


def test_events_find_the_message_by_our_uid_in_metadata(message):
    ingest(types=["bounced"], message_id="other-id", metadata={"message_uid": str(message.uid)})

    assert _state(message) == "bounced"


def test_complaint_after_open_wins(message):
    ingest(types=["opened"], message_id="prov-1")
    ingest(types=["complained"], message_id="prov-1")

    assert _state(message) == "complained"


def test_hard_bounce_suppresses_the_address_and_marks_the_subscriber(message):
    ingest(
        types=["bounced"],
        provider_event="hard_bounce",
        recipient="ada@example.com",
        message_id="prov-1",
    )

    suppression = Suppression.objects.get()
    assert (suppression.email.lower(), suppression.reason) == ("ada@example.com", "hard_bounce")
    assert suppression.event == EmailEvent.objects.get()
    assert Subscriber.objects.get().status == "bounced"


def test_soft_bounce_does_not_suppress(message):
    ingest(types=["bounced"], provider_event="soft_bounce", recipient="ada@example.com")

    assert not Suppression.objects.exists()


@pytest.mark.parametrize(
    ("event_type", "reason", "status"),
    [("complained", "complaint", "complained"), ("unsubscribed", "unsubscribe", "unsubscribed")],
)
def test_complaints_and_unsubscribes_suppress(message, event_type, reason, status):
    ingest(types=[event_type], recipient="ADA@example.com")

    assert Suppression.objects.get().reason == reason
    assert Subscriber.objects.get().status == status
