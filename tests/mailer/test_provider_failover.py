"""Failover over a whole campaign against fake ESP and SMTP servers: quotas, rate limits and a
provider going down mid-send, with no recipient getting two mails and none skipped (receiving
systems count one mail per distinct Message-ID)."""

import time
from collections import Counter, defaultdict

import pytest

from events.models import EmailEvent
from mailer.models import Campaign, Message
from mailer.providers.router import quota_left_total
from mailer.providers.state import provider_states
from mailer.send_tasks import send_chunk
from mailer.services import messages as message_services
from mailer.services.sending import campaign_start_send
from tests.mailer.campaign_factories import audience, campaign
from tests.mailer.fake_esp import (
    esp_account,
    fake_esp_fixture,  # noqa: F401
    provider_account,
)
from tests.mailer.smtp_server import FakeSmtpServer

pytestmark = pytest.mark.django_db
CHUNK = 25


@pytest.fixture(autouse=True)
def _fast_breaker(settings):
    settings.PROVIDER_BREAKER_FAILURES = 3
    settings.PROVIDER_BREAKER_COOLDOWN_S = 60
    settings.EMAIL_TIMEOUT = 2


def started(capture, size: int) -> Campaign:
    target = campaign(lists=[audience(size)])
    with capture(execute=True):
        return campaign_start_send(campaign=target)


def at_the_start_of_a_second() -> None:
    """Rate windows are whole seconds: start right after one begins, so the server sees the
    requests in the seconds they were counted in."""
    time.sleep(1.0 - time.time() % 1.0 + 0.01)


def run_chunks(target: Campaign) -> None:
    """What the workers do: chunks of the unfinished messages, retries run at once."""
    ids = sorted(
        target.messages.filter(status__in=["queued", "sending"]).values_list("pk", flat=True)
    )
    for start in range(0, len(ids), CHUNK):
        send_chunk.apply(args=[target.pk, ids[start : start + CHUNK]])


def merged_ids(*servers) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = defaultdict(set)
    for server in servers:
        for recipient, message_ids in server.distinct_ids_by_recipient().items():
            ids[recipient] |= message_ids
    return ids


def assert_each_recipient_got_one_mail(target: Campaign, *servers) -> None:
    ids = merged_ids(*servers)
    assert set(ids) == set(target.messages.values_list("email", flat=True))
    assert all(len(message_ids) == 1 for message_ids in ids.values())
    target.refresh_from_db()
    assert target.status == "sent"
    assert set(target.messages.values_list("status", flat=True)) == {"sent"}


def test_daily_quota_sends_three_then_the_next_provider_takes_the_rest(
    fake_esp, django_capture_on_commit_callbacks
):
    first, second = fake_esp("postmark"), fake_esp("sendgrid")
    limited = esp_account(first, priority=1, daily_quota=3)
    other = esp_account(second, priority=2, daily_quota=100)
    target = started(django_capture_on_commit_callbacks, 7)
    run_chunks(target)

    assert len(first.accepted) == 3
    assert len(second.accepted) == 4
    assert_each_recipient_got_one_mail(target, first, second)
    assert Counter(target.messages.values_list("provider", flat=True)) == {
        "postmark": 3,
        "sendgrid": 4,
    }
    states = provider_states([limited, other])
    assert states[limited.pk]["status"] == "throttled"
    assert (states[limited.pk]["sent_today"], states[limited.pk]["quota_left"]) == (3, 0)
    assert states[other.pk]["sent_today"] == 4
    assert quota_left_total() == 96


def test_rate_limit_holds_even_when_no_other_provider_is_left(
    fake_esp, django_capture_on_commit_callbacks
):
    only = fake_esp("mailgun")
    esp_account(only, rate_limit_per_s=3)
    target = started(django_capture_on_commit_callbacks, 8)
    at_the_start_of_a_second()
    run_chunks(target)

    assert max(only.requests_per_second()) <= 3
    assert_each_recipient_got_one_mail(target, only)


def test_provider_out_of_rate_this_second_hands_messages_to_the_next(
    fake_esp, django_capture_on_commit_callbacks
):
    first, second = fake_esp("mailgun"), fake_esp("postmark")
    esp_account(first, priority=1, rate_limit_per_s=1)
    esp_account(second, priority=2)
    target = started(django_capture_on_commit_callbacks, 6)
    at_the_start_of_a_second()
    run_chunks(target)

    assert max(first.requests_per_second()) == 1
    assert len(second.accepted) >= 6 - len(first.requests_per_second())
    assert_each_recipient_got_one_mail(target, first, second)


def test_provider_going_down_mid_campaign_hands_the_rest_to_the_next_once(
    fake_esp, django_capture_on_commit_callbacks
):
    first = fake_esp("mailgun", down_after=20)
    second = fake_esp("postmark")
    primary = esp_account(first, priority=1)
    esp_account(second, priority=2)
    target = started(django_capture_on_commit_callbacks, 60)
    run_chunks(target)

    assert_each_recipient_got_one_mail(target, first, second)
    assert len(first.requests) == 20 + 3  # then its breaker opened
    assert Counter(target.messages.values_list("provider", flat=True)) == {
        "mailgun": 20,
        "postmark": 40,
    }
    sent = EmailEvent.objects.filter(type="sent", campaign=target)
    assert Counter(sent.values_list("provider", flat=True)) == {"mailgun": 20, "postmark": 40}
    assert provider_states([primary])[primary.pk]["status"] == "open"


def test_smtp_server_dying_mid_campaign_hands_the_rest_to_the_next_once(
    fake_esp, django_capture_on_commit_callbacks, monkeypatch
):
    smtp = FakeSmtpServer()
    smtp.start()
    provider_account("smtp", {"host": "127.0.0.1", "port": smtp.port}, priority=1)
    second = fake_esp("mailgun")
    esp_account(second, priority=2)
    target = started(django_capture_on_commit_callbacks, 40)

    deliver = message_services.email_deliver
    delivered = Counter()

    def deliver_then_kill(email, *, connection):
        accepted = deliver(email, connection=connection)
        delivered[accepted.provider] += 1
        if delivered["smtp"] == 12 and smtp._controller:
            smtp.stop()  # mid-session: the open SMTP connection breaks too
            smtp._controller = None
        return accepted

    monkeypatch.setattr(message_services, "email_deliver", deliver_then_kill)
    try:
        run_chunks(target)
    finally:
        smtp.stop()

    assert_each_recipient_got_one_mail(target, smtp, second)
    smtp_sent = Message.objects.filter(campaign=target, provider="smtp").count()
    assert smtp_sent == 12
    assert len(second.accepted) == 40 - 12
