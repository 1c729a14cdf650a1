"""Sending in-process (chunk tasks run here) to a real SMTP server on PostgreSQL and Redis."""

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db.models import Count
from django_redis import get_redis_connection

from events.models import EmailEvent
from mailer.models import Campaign, Message, Subscriber, Suppression
from mailer.send_tasks import send_chunk
from mailer.services import messages as message_services
from mailer.services.campaigns import CampaignConflict
from mailer.services.messages import chunk_send
from mailer.services.sending import (
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_start_send,
)
from mailer.unsubscribe import unsubscribe_url
from tests.mailer import factories
from tests.mailer.campaign_factories import audience, campaign
from tests.mailer.smtp_server import smtp_server_fixture  # noqa: F401
from tests.servers import database_url_for_tests

pytestmark = pytest.mark.django_db


def start(target: Campaign, capture) -> Campaign:
    with capture(execute=True):
        return campaign_start_send(campaign=target, requested_by=None)


def run_queued(target: Campaign) -> None:
    """What the workers do: every chunk of the campaign's unfinished messages."""
    ids = list(
        Message.objects.filter(campaign=target, status__in=["queued", "sending"]).values_list(
            "pk", flat=True
        )
    )
    send_chunk.apply(args=[target.pk, ids])


def test_each_active_recipient_gets_exactly_one_message(
    smtp_server, django_capture_on_commit_callbacks
):
    active = [factories.subscriber(first_name=f"P{i}") for i in range(3)]
    suppressed = factories.subscriber()
    Suppression.objects.create(email=suppressed.email.upper(), reason="complaint")
    inactive = factories.subscriber(is_active=False)
    unsubscribed = factories.subscriber(status=Subscriber.Status.UNSUBSCRIBED)
    everyone = [*active, suppressed, inactive, unsubscribed]
    target = campaign(lists=[factories.mailing_list(members=everyone)])
    # And via a segment too: still once each.
    target.segments.add(factories.segment({"status": ["active"]}))

    start(target, django_capture_on_commit_callbacks)
    assert get_redis_connection("default").llen("celery") == 1
    run_queued(target)

    ids = smtp_server.distinct_ids_by_recipient()
    assert set(ids) == {s.email for s in active}
    assert all(len(message_ids) == 1 for message_ids in ids.values())
    assert len(smtp_server.messages()) == 3
    target.refresh_from_db()
    assert (target.status, target.total_recipients) == ("sent", 3)
    assert target.finished_at is not None
    assert set(target.messages.values_list("status", flat=True)) == {"sent"}


def test_message_carries_its_uid_unsubscribe_headers_and_personalisation(
    smtp_server, django_capture_on_commit_callbacks
):
    ada = factories.subscriber(first_name="Ada")
    target = campaign(lists=[factories.mailing_list(members=[ada])], reply_to="help@example.com")
    start(target, django_capture_on_commit_callbacks)
    run_queued(target)

    message = Message.objects.get(campaign=target)
    [received] = smtp_server.to(ada.email)
    assert received.message_id == f"<{message.uid}@mailpulse>"
    assert message.provider_message_id == f"{message.uid}@mailpulse"
    assert f"<{unsubscribe_url(message)}>" in received.header("List-Unsubscribe")
    assert received.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert str(message.uid) in received.header("X-Mailpulse-Metadata")
    assert received.header("Subject") == "News for Ada"
    assert received.header("Reply-To") == "help@example.com"
    assert received.header("From") == "Example News <news@example.com>"
    assert "<h1>Hello Ada</h1>" in received.part("text/html")
    assert "Hello Ada" in received.part("text/plain")
    assert unsubscribe_url(message) in received.part("text/plain")


def test_sent_events_are_stored_once_even_when_a_chunk_runs_again(
    smtp_server, django_capture_on_commit_callbacks
):
    people = [factories.subscriber() for _ in range(4)]
    target = campaign(lists=[factories.mailing_list(members=people)])
    start(target, django_capture_on_commit_callbacks)
    run_queued(target)
    ids = list(target.messages.values_list("pk", flat=True))
    chunk_send(campaign_id=target.pk, message_ids=ids)

    events = EmailEvent.objects.filter(type="sent", campaign=target)
    assert events.count() == 4
    assert set(events.values_list("provider", flat=True)) == {"smtp"}
    uids = {str(uid) for uid in target.messages.values_list("uid", flat=True)}
    assert {e.metadata["message_uid"] for e in events} == uids
    assert len(smtp_server.messages()) == 4


def test_second_send_is_refused_and_creates_nothing(
    smtp_server, django_capture_on_commit_callbacks
):
    target = campaign(lists=[factories.mailing_list(members=[factories.subscriber()])])
    start(target, django_capture_on_commit_callbacks)
    with pytest.raises(CampaignConflict, match="sending campaign cannot be sent"):
        start(target, django_capture_on_commit_callbacks)
    assert target.messages.count() == 1
    assert get_redis_connection("default").llen("celery") == 1


def test_campaign_without_recipients_is_refused(django_capture_on_commit_callbacks):
    target = campaign(lists=[factories.mailing_list()])
    with pytest.raises(ValidationError, match="no recipients"):
        start(target, django_capture_on_commit_callbacks)
    target.refresh_from_db()
    assert target.status == "draft"


def _acting_after(monkeypatch, sends: int, action) -> None:
    """Make `action` happen (e.g. a pause click) right after the n-th accepted message."""
    deliver = message_services.email_deliver
    count = {"n": 0}

    def deliver_then_act(email, *, connection):
        accepted = deliver(email, connection=connection)
        count["n"] += 1
        if count["n"] == sends:
            action()
        return accepted

    monkeypatch.setattr(message_services, "email_deliver", deliver_then_act)


def test_pause_stops_workers_and_resume_sends_the_rest_once(
    smtp_server, django_capture_on_commit_callbacks, monkeypatch
):
    target = campaign(lists=[audience(25)])
    start(target, django_capture_on_commit_callbacks)
    _acting_after(monkeypatch, 3, lambda: campaign_pause(campaign=target))
    run_queued(target)

    target.refresh_from_db()
    assert target.status == "paused"
    # The worker stops before its next message: the pause came during the third send.
    assert target.messages.filter(status="sent").count() == 3
    assert target.messages.filter(status="queued").count() == 22
    # Claimed with their group but not tried: their attempt does not count.
    assert set(target.messages.filter(status="queued").values_list("attempts", flat=True)) == {0}

    with django_capture_on_commit_callbacks(execute=True):
        campaign_resume(campaign=target)
    assert get_redis_connection("default").llen("celery") == 2  # start + resume
    run_queued(target)

    target.refresh_from_db()
    assert target.status == "sent"
    ids = smtp_server.distinct_ids_by_recipient()
    assert len(ids) == 25
    assert len(smtp_server.messages()) == 25


def test_cancel_stops_workers_and_cancels_the_queued_messages(
    smtp_server, django_capture_on_commit_callbacks, monkeypatch
):
    target = campaign(lists=[audience(25)])
    start(target, django_capture_on_commit_callbacks)
    _acting_after(monkeypatch, 3, lambda: campaign_cancel(campaign=target))
    run_queued(target)
    chunk_send(
        campaign_id=target.pk, message_ids=list(target.messages.values_list("pk", flat=True))
    )

    target.refresh_from_db()
    assert target.status == "cancelled"
    # Cancelled messages can no longer be claimed: the worker stops at once, not at its next
    # look at the campaign's status.
    assert target.messages.filter(status="sent").count() == 3
    assert target.messages.filter(status="cancelled").count() == 22
    assert len(smtp_server.messages()) == 3
    with pytest.raises(CampaignConflict):
        campaign_resume(campaign=target)


def test_an_error_mid_group_returns_the_untried_messages_and_their_locks(
    smtp_server, django_capture_on_commit_callbacks, monkeypatch
):
    target = campaign(lists=[audience(10)])
    start(target, django_capture_on_commit_callbacks)

    def redis_gone():
        raise ConnectionError("Redis went away")  # anything the send path does not expect

    _acting_after(monkeypatch, 3, redis_gone)
    ids = sorted(target.messages.values_list("pk", flat=True))
    with pytest.raises(ConnectionError):
        chunk_send(campaign_id=target.pk, message_ids=ids)

    by_status = dict(
        target.messages.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    # Two recorded; the third was accepted by the server when the error came: left claimed
    # for the stall check; the seven never tried are queued again, their attempt not counted.
    assert by_status == {"sent": 2, "sending": 1, "queued": 7}
    assert set(target.messages.filter(status="queued").values_list("attempts", flat=True)) == {0}
    # Every lock was let go: another worker's session can take each one.
    with psycopg.connect(database_url_for_tests(), autocommit=True) as other_worker:
        for pk in ids:
            locked = other_worker.execute("SELECT pg_try_advisory_lock(%s)", [pk]).fetchone()
            assert locked == (True,), pk


def test_refused_recipient_fails_and_a_transient_error_is_retried(
    smtp_server, django_capture_on_commit_callbacks
):
    refused, later, fine = (factories.subscriber() for _ in range(3))
    smtp_server.refusals = {
        refused.email: "550 5.1.1 no such user",
        later.email: "451 4.3.0 try again later",
    }
    target = campaign(lists=[factories.mailing_list(members=[refused, later, fine])])
    start(target, django_capture_on_commit_callbacks)
    ids = sorted(target.messages.values_list("pk", flat=True))
    result = chunk_send(campaign_id=target.pk, message_ids=ids)

    by_email = {m.email: m for m in target.messages.all()}
    assert by_email[refused.email].status == "failed"
    assert "550" in by_email[refused.email].error
    assert by_email[later.email].status == "queued"
    assert by_email[later.email].attempts == 1
    assert result.retry_ids == [pk for pk in ids if pk >= by_email[later.email].pk]

    smtp_server.refusals = {}
    chunk_send(campaign_id=target.pk, message_ids=result.retry_ids)
    target.refresh_from_db()
    assert target.status == "sent"
    assert {r.recipient for r in smtp_server.messages()} == {later.email, fine.email}


def test_message_left_sending_by_a_dead_worker_is_sent_again_with_the_same_id(
    smtp_server, django_capture_on_commit_callbacks
):
    target = campaign(lists=[factories.mailing_list(members=[factories.subscriber()])])
    start(target, django_capture_on_commit_callbacks)
    message = target.messages.get()
    # A worker claimed it and died: its PostgreSQL session, and so its lock, are gone.
    Message.objects.filter(pk=message.pk).update(status="sending")
    chunk_send(campaign_id=target.pk, message_ids=[message.pk])

    message.refresh_from_db()
    assert message.status == "sent"
    assert [r.message_id for r in smtp_server.messages()] == [f"<{message.uid}@mailpulse>"]


def test_message_being_sent_by_a_live_worker_is_left_to_it(
    smtp_server, django_capture_on_commit_callbacks
):
    target = campaign(lists=[factories.mailing_list(members=[factories.subscriber()])])
    start(target, django_capture_on_commit_callbacks)
    message = target.messages.get()
    Message.objects.filter(pk=message.pk).update(status="sending")
    with psycopg.connect(database_url_for_tests()) as other_worker:
        other_worker.execute("SELECT pg_advisory_lock(%s)", [message.pk])
        chunk_send(campaign_id=target.pk, message_ids=[message.pk])

    message.refresh_from_db()
    assert message.status == "sending"
    assert smtp_server.messages() == []
