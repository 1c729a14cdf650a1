"""The provider router against fake ESP servers: which provider sends, and what each kind of
error does to the message and to the provider (PostgreSQL and Redis are real)."""

import smtplib
import time

import pytest
import requests
from anymail.exceptions import (
    AnymailConfigurationError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
)
from django.core.exceptions import ImproperlyConfigured

from events.models import EmailEvent
from mailer.models import Campaign, Message, ProviderAccount
from mailer.providers import KINDS, kind_for
from mailer.providers.base import Verdict, classify
from mailer.providers.router import quota_left_total
from mailer.providers.state import provider_clear_misconfigured, provider_states
from mailer.services.messages import chunk_send
from mailer.services.sending import campaign_start_send
from tests.mailer import factories
from tests.mailer.campaign_factories import campaign
from tests.mailer.fake_esp import (
    Answer,
    esp_account,
    fake_esp_fixture,  # noqa: F401
    provider_account,
)
from tests.mailer.smtp_server import FakeSmtpServer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_breaker(settings):
    settings.PROVIDER_BREAKER_FAILURES = 3
    settings.PROVIDER_BREAKER_COOLDOWN_S = 0.3
    settings.EMAIL_TIMEOUT = 1


@pytest.fixture
def frames(provider_frames):
    """The provider frames dashboards receive (over the real channel layer)."""
    return provider_frames


def started(capture, recipients) -> Campaign:
    target = campaign(lists=[factories.mailing_list(members=recipients)])
    with capture(execute=True):
        return campaign_start_send(campaign=target)


def people(n: int) -> list:
    return [factories.subscriber() for _ in range(n)]


def send_all(target: Campaign):
    ids = sorted(target.messages.values_list("pk", flat=True))
    return chunk_send(campaign_id=target.pk, message_ids=ids)


def test_each_kind_maps_its_credentials_to_its_backend():
    mailgun = kind_for("mailgun").backend(
        {"api_key": "k", "sender_domain": "mg.example.com", "api_url": "http://127.0.0.1:9/v3"}
    )
    assert (mailgun.api_key, mailgun.sender_domain) == ("k", "mg.example.com")
    assert mailgun.api_url == "http://127.0.0.1:9/v3/"
    smtp = kind_for("smtp").backend({"host": "mail.example.com", "port": "2525", "use_tls": "1"})
    assert (smtp.host, smtp.port, smtp.use_tls) == ("mail.example.com", 2525, True)
    assert kind_for("sandbox").backend_path == "mailer.sandbox.backend.SandboxEmailBackend"
    assert set(KINDS) == set(ProviderAccount.Kind.values)
    assert all(kind.credential_fields for kind in KINDS.values())
    with pytest.raises(ImproperlyConfigured, match="missing credentials: server_token"):
        kind_for("postmark").backend({})


def test_amazon_ses_sends_through_anymail_and_boto3(fake_esp, django_capture_on_commit_callbacks):
    ses = fake_esp("amazon_ses")
    esp_account(ses, priority=1)
    target = started(django_capture_on_commit_callbacks, [factories.subscriber()])
    send_all(target)

    message = target.messages.get()
    assert (message.provider, message.status) == ("amazon_ses", "sent")
    assert message.provider_message_id.startswith("0100")
    assert ses.distinct_ids_by_recipient() == {message.email: {f"<{message.uid}@mailpulse>"}}


@pytest.mark.parametrize("family", ["mailgun", "postmark", "sendgrid"])
def test_message_goes_out_through_the_first_provider_and_records_it(
    family, fake_esp, django_capture_on_commit_callbacks
):
    first, second = fake_esp(family), fake_esp("postmark")
    esp_account(first, priority=1)
    esp_account(second, priority=2)
    ada = factories.subscriber()
    target = started(django_capture_on_commit_callbacks, [ada])
    send_all(target)

    message = Message.objects.get(campaign=target)
    [accepted] = first.accepted
    assert (message.status, message.provider) == ("sent", family)
    assert accepted.recipient == ada.email
    assert accepted.message_id == f"<{message.uid}@mailpulse>"
    if family != "sendgrid":  # SendGrid's id is the one anymail generated
        assert message.provider_message_id == accepted.provider_id.strip("<>")
    assert message.provider_message_id
    assert second.requests == []
    event = EmailEvent.objects.get(type="sent", campaign=target)
    assert (event.provider, event.message_id) == (family, message.provider_message_id)


@pytest.mark.parametrize("family", ["mailgun", "postmark", "sendgrid"])
def test_refused_recipient_fails_the_message_without_failover(
    family, fake_esp, frames, django_capture_on_commit_callbacks
):
    first, second = fake_esp(family), fake_esp("postmark")
    primary = esp_account(first, priority=1)
    esp_account(second, priority=2)
    refused, fine = factories.subscriber(), factories.subscriber()
    first.refused = {refused.email}
    target = started(django_capture_on_commit_callbacks, [refused, fine])
    send_all(target)

    by_email = {m.email: m for m in target.messages.all()}
    assert by_email[refused.email].status == "failed"
    assert by_email[refused.email].error
    assert by_email[fine.email].status == "sent"
    assert second.requests == []
    assert provider_states([primary])[primary.pk]["status"] == "healthy"
    assert frames == []


def test_unauthorized_provider_is_marked_misconfigured_and_fails_over(
    fake_esp, frames, django_capture_on_commit_callbacks
):
    first, second = (
        fake_esp("mailgun", mode=Answer(401, {"message": "Forbidden"})),
        fake_esp("postmark"),
    )
    primary = esp_account(first, priority=1)
    esp_account(second, priority=2)
    target = started(django_capture_on_commit_callbacks, people(3))
    send_all(target)

    assert set(target.messages.values_list("status", "provider")) == {("sent", "postmark")}
    assert len(first.requests) == 1  # skipped once marked
    assert len(second.accepted) == 3
    state = provider_states([primary])[primary.pk]
    assert state["status"] == "misconfigured"
    assert "401" in state["reason"]
    assert frames == [
        {
            "kind": "provider",
            "object_id": primary.pk,
            "status": "misconfigured",
            "reason": state["reason"],
            "until": None,
        }
    ]
    provider_clear_misconfigured(primary.pk)
    assert provider_states([primary])[primary.pk]["status"] == "healthy"
    assert frames[-1]["status"] == "healthy"


def test_saving_a_misconfigured_account_again_lets_it_send(
    fake_esp, django_capture_on_commit_callbacks
):
    first = fake_esp("mailgun")
    first.script(Answer(403, {"message": "Forbidden"}))
    primary = esp_account(first, priority=1)
    esp_account(fake_esp("postmark"), priority=2)
    send_all(started(django_capture_on_commit_callbacks, [factories.subscriber()]))
    assert provider_states([primary])[primary.pk]["status"] == "misconfigured"

    primary.save()  # an operator fixed the credentials
    send_all(started(django_capture_on_commit_callbacks, [factories.subscriber()]))
    assert provider_states([primary])[primary.pk]["status"] == "healthy"
    assert len(first.accepted) == 1


def test_rate_limited_provider_is_throttled_until_retry_after(
    fake_esp, frames, django_capture_on_commit_callbacks
):
    first, second = fake_esp("postmark"), fake_esp("mailgun")
    first.script(Answer(429, {"ErrorCode": 429, "Message": "slow down"}, {"Retry-After": "1"}))
    primary = esp_account(first, priority=1)
    esp_account(second, priority=2)
    send_all(started(django_capture_on_commit_callbacks, people(2)))

    assert len(first.requests) == 1
    assert len(second.accepted) == 2
    state = provider_states([primary])[primary.pk]
    assert state["status"] == "throttled"
    assert state["until"] is not None
    assert [f["status"] for f in frames] == ["throttled"]

    time.sleep(1.1)
    send_all(started(django_capture_on_commit_callbacks, [factories.subscriber()]))
    assert len(first.accepted) == 1
    assert [f["status"] for f in frames] == ["throttled", "healthy"]


def test_outages_open_the_breaker_after_three_failures_in_a_row(
    fake_esp, frames, django_capture_on_commit_callbacks
):
    first, second = fake_esp("mailgun", mode=Answer(503, {"message": "down"})), fake_esp("postmark")
    primary = esp_account(first, priority=1)
    esp_account(second, priority=2)
    target = started(django_capture_on_commit_callbacks, people(6))
    send_all(target)

    assert len(first.requests) == 3
    assert len(second.accepted) == 6
    assert set(target.messages.values_list("status", flat=True)) == {"sent"}
    state = provider_states([primary])[primary.pk]
    assert state["status"] == "open"
    assert state["error_rate"] == 1.0
    assert [f["status"] for f in frames] == ["open"]


def test_open_breaker_lets_one_probe_through_after_the_cool_down_and_closes_on_success(
    fake_esp, frames, django_capture_on_commit_callbacks
):
    first, second = fake_esp("mailgun"), fake_esp("postmark")
    first.script(*[Answer(500, {"message": "oops"})] * 3)
    primary = esp_account(first, priority=1)
    esp_account(second, priority=2)
    send_all(started(django_capture_on_commit_callbacks, people(3)))
    assert provider_states([primary])[primary.pk]["status"] == "open"

    time.sleep(0.35)
    assert provider_states([primary])[primary.pk]["status"] == "half_open"
    send_all(started(django_capture_on_commit_callbacks, people(3)))

    assert len(first.accepted) == 3
    assert provider_states([primary])[primary.pk]["status"] == "healthy"
    assert [f["status"] for f in frames] == ["open", "half_open", "healthy"]


def test_failed_probe_opens_the_breaker_again(fake_esp, frames, django_capture_on_commit_callbacks):
    first, second = fake_esp("mailgun", mode=Answer(502, {})), fake_esp("postmark")
    primary = esp_account(first, priority=1)
    esp_account(second, priority=2)
    send_all(started(django_capture_on_commit_callbacks, people(3)))
    time.sleep(0.35)
    send_all(started(django_capture_on_commit_callbacks, people(3)))

    assert len(first.requests) == 4  # three to open, one probe
    assert len(second.accepted) == 6
    assert provider_states([primary])[primary.pk]["status"] == "open"
    assert [f["status"] for f in frames] == ["open", "half_open", "open"]


def test_refused_connection_counts_as_an_outage_and_fails_over(
    fake_esp, django_capture_on_commit_callbacks
):
    gone = FakeSmtpServer()  # never started: its port refuses connections
    smtp = provider_account("smtp", {"host": "127.0.0.1", "port": gone.port}, priority=1)
    second = fake_esp("postmark")
    esp_account(second, priority=2)
    target = started(django_capture_on_commit_callbacks, people(4))
    send_all(target)

    assert len(second.accepted) == 4
    assert provider_states([smtp])[smtp.pk]["status"] == "open"


def test_smtp_kind_sends_through_django_smtp_backend(django_capture_on_commit_callbacks):
    server = FakeSmtpServer()
    server.start()
    try:
        provider_account("smtp", {"host": "127.0.0.1", "port": str(server.port)})
        ada = factories.subscriber()
        target = started(django_capture_on_commit_callbacks, [ada])
        send_all(target)
    finally:
        server.stop()
    message = target.messages.get()
    assert (message.status, message.provider) == ("sent", "smtp")
    assert [r.message_id for r in server.to(ada.email)] == [f"<{message.uid}@mailpulse>"]


def test_answer_lost_after_the_request_is_not_sent_elsewhere_now_but_retried_elsewhere(
    fake_esp, django_capture_on_commit_callbacks
):
    first, second = fake_esp("postmark"), fake_esp("mailgun")
    first.script(Answer(200, {}, hang_s=1.5))  # the provider got it; its answer never came
    primary = esp_account(first, priority=1)
    esp_account(second, priority=2)
    target = started(django_capture_on_commit_callbacks, people(2))
    result = send_all(target)

    unanswered, other = target.messages.order_by("pk")
    unanswered.refresh_from_db()
    assert (unanswered.status, unanswered.attempts) == ("queued", 1)
    assert result.retry_ids == [unanswered.pk, other.pk]
    assert second.requests == []
    send_all(target)
    unanswered.refresh_from_db()
    other.refresh_from_db()
    # The retry goes to the other provider first, with the same Message-ID; other messages
    # still go to the first provider.
    assert (unanswered.status, unanswered.provider) == ("sent", "mailgun")
    assert (other.status, other.provider) == ("sent", "postmark")
    message_id = f"<{unanswered.uid}@mailpulse>"
    assert [r.message_id for r in second.requests] == [message_id]
    assert [r.message_id for r in first.requests] == [message_id, f"<{other.uid}@mailpulse>"]
    assert provider_states([primary])[primary.pk]["error_rate"] == 0.5


def test_when_no_provider_can_send_messages_wait_in_the_queue(
    fake_esp, django_capture_on_commit_callbacks
):
    first = fake_esp("mailgun", mode=Answer(503, {}))
    second = fake_esp("postmark", mode=Answer(401, {"ErrorCode": 10, "Message": "bad token"}))
    esp_account(first, priority=1)
    esp_account(second, priority=2)
    target = started(django_capture_on_commit_callbacks, people(3))
    result = send_all(target)

    assert result.retry_ids == sorted(target.messages.values_list("pk", flat=True))
    assert set(target.messages.values_list("status", "attempts")) == {("queued", 0)}
    assert "no provider available" in target.messages.order_by("pk").first().error
    target.refresh_from_db()
    assert target.status == "sending"


def test_disabled_accounts_are_not_used_and_without_any_the_configured_backend_sends(
    fake_esp, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    disabled = esp_account(fake_esp("mailgun"), enabled=False)
    target = started(django_capture_on_commit_callbacks, [factories.subscriber()])
    send_all(target)

    assert target.messages.get().provider == "smtp"
    assert provider_states([disabled])[disabled.pk]["status"] == "disabled"
    assert quota_left_total() is None


def _http_error(status: int, headers: dict | None = None) -> AnymailRequestsAPIError:
    response = requests.Response()
    response.status_code, response.reason = status, "test"
    response.headers.update(headers or {})
    response._content = b'{"message": "test"}'
    return AnymailRequestsAPIError(response=response)


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (_http_error(400), Verdict.REJECTED),
        (_http_error(413), Verdict.REJECTED),
        (_http_error(422), Verdict.REJECTED),
        (_http_error(401), Verdict.MISCONFIGURED),
        (_http_error(403), Verdict.MISCONFIGURED),
        (_http_error(404), Verdict.MISCONFIGURED),
        (_http_error(429), Verdict.THROTTLED),
        (_http_error(500), Verdict.OUTAGE),
        (_http_error(503), Verdict.OUTAGE),
        (_http_error(504), Verdict.AMBIGUOUS),
        (_http_error(200), Verdict.AMBIGUOUS),
        (AnymailRecipientsRefused(), Verdict.REJECTED),
        (AnymailInvalidAddress("bad"), Verdict.REJECTED),
        (AnymailConfigurationError("no key"), Verdict.MISCONFIGURED),
        (smtplib.SMTPAuthenticationError(535, b"bad login"), Verdict.MISCONFIGURED),
        (smtplib.SMTPRecipientsRefused({"a@x": (550, b"no")}), Verdict.REJECTED),
        (smtplib.SMTPRecipientsRefused({"a@x": (451, b"later")}), Verdict.DEFERRED),
        (smtplib.SMTPDataError(552, b"too big"), Verdict.REJECTED),
        (smtplib.SMTPDataError(421, b"closing"), Verdict.OUTAGE),
        (smtplib.SMTPServerDisconnected("gone"), Verdict.AMBIGUOUS),
        (ConnectionRefusedError(), Verdict.OUTAGE),
    ],
)
def test_errors_are_classified_by_whose_fault_they_are(error, verdict):
    assert classify(error, sending=True).verdict is verdict


def test_retry_after_sets_the_throttle_window():
    failure = classify(_http_error(429, {"Retry-After": "7"}), sending=True)
    assert (failure.verdict, failure.retry_after_s) == (Verdict.THROTTLED, 7.0)


def test_lost_connection_is_ambiguous_only_once_the_message_went_out():
    assert classify(TimeoutError(), sending=False).verdict is Verdict.OUTAGE
    assert classify(TimeoutError(), sending=True).verdict is Verdict.AMBIGUOUS
    greeting_never_came = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    assert classify(greeting_never_came, sending=False).verdict is Verdict.OUTAGE


def test_sandbox_down_fails_over_and_opens_its_breaker(
    fake_esp, django_capture_on_commit_callbacks
):
    sandbox = provider_account("sandbox", {"mode": "down", "latency_ms": 0}, priority=1)
    second = fake_esp("postmark")
    esp_account(second, priority=2)
    target = started(django_capture_on_commit_callbacks, people(4))
    send_all(target)

    assert set(target.messages.values_list("provider", flat=True)) == {"postmark"}
    assert len(second.accepted) == 4
    assert provider_states([sandbox])[sandbox.pk]["status"] == "open"
