"""Operator commands that send a campaign's messages again: `campaign_retry_failed` (and its
API action) and `campaign_resend_unaccepted`. The chunk tasks they enqueue are taken from the
real broker and run here, against a real SMTP server or fake ESP servers."""

import base64
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_redis import get_redis_connection

from mailer.models import Campaign, Message, Suppression
from mailer.send_tasks import send_chunk
from mailer.services.sending import campaign_start_send
from tests.mailer import factories
from tests.mailer.campaign_factories import campaign
from tests.mailer.fake_esp import esp_account, fake_esp_fixture  # noqa: F401
from tests.mailer.smtp_server import smtp_server_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


def enqueued_chunks() -> list[tuple[list, dict]]:
    """Take every task message off the broker's queue: (args, kwargs), oldest first."""
    redis = get_redis_connection("default")
    chunks = []
    while raw := redis.rpop("celery"):
        message = json.loads(raw)
        assert message["headers"]["task"] == "mailer.send_tasks.send_chunk"
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        chunks.append((args, kwargs))
    return chunks


def run_enqueued_chunks() -> int:
    """What a worker does with them; returns how many ran."""
    chunks = enqueued_chunks()
    for args, kwargs in chunks:
        send_chunk.apply(args=args, kwargs=kwargs)
    return len(chunks)


def started(capture, recipients) -> Campaign:
    target = campaign(lists=[factories.mailing_list(members=recipients)])
    with capture(execute=True):
        campaign_start_send(campaign=target)
    return target


def command(capture, name: str, *args) -> str:
    out = StringIO()
    with capture(execute=True):
        call_command(name, *args, stdout=out)
    return out.getvalue()


def test_retry_failed_sends_only_failures_no_provider_accepted_and_each_once(
    smtp_server, django_capture_on_commit_callbacks
):
    refused, suppressed_since, fine, reported_failed = (factories.subscriber() for _ in range(4))
    smtp_server.refusals = {
        refused.email: "550 5.1.1 mailbox unavailable",
        suppressed_since.email: "550 5.1.1 mailbox unavailable",
    }
    target = started(django_capture_on_commit_callbacks, [refused, suppressed_since, fine])
    target.lists.first().subscribers.add(reported_failed)
    [first_chunk] = enqueued_chunks()
    send_chunk.apply(*first_chunk)
    # A message the provider accepted, then reported failed (as its webhook would).
    Message.objects.create(
        campaign=target, subscriber=reported_failed, email=reported_failed.email, status="sent"
    )
    accepted = Message.objects.get(subscriber=reported_failed)
    accepted.status, accepted.provider_message_id = "failed", "esp-1"
    accepted.sent_at = accepted.updated_at
    accepted.save()
    Suppression.objects.create(email=suppressed_since.email, reason="hard_bounce")
    target.refresh_from_db()
    assert target.status == "sent"
    smtp_server.refusals = {}

    output = command(django_capture_on_commit_callbacks, "campaign_retry_failed", str(target.pk))

    assert f"Campaign {target.pk} (sending): 1 message queued again" in output
    status = dict(target.messages.values_list("email", "status"))
    assert status == {
        refused.email: "queued",
        suppressed_since.email: "failed",
        fine.email: "sent",
        reported_failed.email: "failed",
    }
    assert target.messages.get(email=refused.email).attempts == 0
    again = command(django_capture_on_commit_callbacks, "campaign_retry_failed", str(target.pk))
    assert "0 messages queued again" in again
    [retry_chunk] = enqueued_chunks()  # the second run enqueued nothing
    # The first chunk delivered again too (a worker lost it): claims let one of them send.
    send_chunk.apply(*first_chunk)
    send_chunk.apply(*retry_chunk)

    target.refresh_from_db()
    assert target.status == "sent"
    assert target.messages.get(email=refused.email).status == "sent"
    received = sorted(r.recipient for r in smtp_server.messages())
    assert received == sorted([refused.email, fine.email])


def test_retry_failed_refuses_campaigns_that_never_sent_and_unknown_ones():
    draft = campaign()
    with pytest.raises(CommandError, match="A draft campaign cannot send messages again"):
        call_command("campaign_retry_failed", str(draft.pk))
    with pytest.raises(CommandError, match="No campaign has the id 999999"):
        call_command("campaign_retry_failed", "999999")
    assert get_redis_connection("default").llen("celery") == 0


def test_retry_failed_api_is_staff_only_and_requeues_once(
    smtp_server, staff_user, api_client, django_capture_on_commit_callbacks
):
    refused = factories.subscriber()
    smtp_server.refusals = {refused.email: "550 5.1.1 mailbox unavailable"}
    target = started(django_capture_on_commit_callbacks, [refused])
    run_enqueued_chunks()
    path = f"/api/campaigns/{target.pk}/retry-failed/"

    assert api_client.post(path).status_code == 403
    assert target.messages.get().status == "failed"
    staff = factories.client_for(staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(path)
    assert response.status_code == 202
    body = response.json()
    assert (body["requeued"], body["campaign"]["status"]) == (1, "sending")
    assert staff.post(path).json()["requeued"] == 0
    assert len(enqueued_chunks()) == 1


def test_resend_unaccepted_goes_through_the_other_provider_to_those_it_never_took(
    fake_esp, django_capture_on_commit_callbacks
):
    first, second = fake_esp("mailgun"), fake_esp("postmark")
    failing = esp_account(first, priority=1)
    esp_account(second, priority=2)
    never_taken, taken = factories.subscriber(), factories.subscriber()
    first.refused = {never_taken.email}
    target = started(django_capture_on_commit_callbacks, [never_taken, taken])
    run_enqueued_chunks()
    unaccepted = target.messages.get(email=never_taken.email)
    assert (unaccepted.status, unaccepted.provider, unaccepted.provider_message_id) == (
        "failed",
        "mailgun",
        "",
    )

    output = command(
        django_capture_on_commit_callbacks,
        "campaign_resend_unaccepted",
        str(target.pk),
        "--provider",
        str(failing.pk),
    )

    assert f"1 message queued again, not through provider accounts {failing.pk}" in output
    again = command(
        django_capture_on_commit_callbacks,
        "campaign_resend_unaccepted",
        str(target.pk),
        "--provider",
        "mailgun",
    )
    assert "0 messages queued again" in again
    chunks = enqueued_chunks()
    assert [kwargs for _, kwargs in chunks] == [{"exclude_accounts": [failing.pk]}]
    for args, kwargs in chunks:
        send_chunk.apply(args=args, kwargs=kwargs)

    sent = {m.email: (m.status, m.provider) for m in target.messages.all()}
    assert sent == {never_taken.email: ("sent", "postmark"), taken.email: ("sent", "mailgun")}
    assert [a.recipient for a in second.accepted] == [never_taken.email]
    assert [a.recipient for a in first.accepted] == [taken.email]
    assert Campaign.objects.get(pk=target.pk).status == "sent"


def test_resend_unaccepted_needs_another_enabled_provider_and_a_known_one(
    fake_esp, django_capture_on_commit_callbacks
):
    only = esp_account(fake_esp("mailgun"))
    target = started(django_capture_on_commit_callbacks, [factories.subscriber()])
    run_enqueued_chunks()
    resend = ("campaign_resend_unaccepted", str(target.pk), "--provider")

    with pytest.raises(CommandError, match="No enabled provider account other than mailgun"):
        call_command(*resend, "mailgun")
    with pytest.raises(CommandError, match="No enabled provider account other than"):
        call_command(*resend, str(only.pk))
    with pytest.raises(CommandError, match="'nosuch' is neither an account id nor a kind"):
        call_command(*resend, "nosuch")
    assert get_redis_connection("default").llen("celery") == 0
