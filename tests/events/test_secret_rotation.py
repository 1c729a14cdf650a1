"""Two active secrets per provider: during a rotation ("new,old") a webhook signed with either
is accepted, and one signed with any other secret is refused with a JSON 403."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from events.models import EmailEvent
from tests.events.signed_providers import (
    BASIC_AUTH,
    mailgun_body,
    mailgun_event_data,
    post_mailgun,
    post_postmark,
    post_sendgrid,
    postmark_event,
    sendgrid_event,
    sendgrid_key_pair,
)
from tests.events.webhook_helpers import mandrill_event, post_mandrill

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class SigningProvider:
    setting: str
    # A fresh secret: (what signs a post, what the setting holds).
    new_secret: Callable[[], tuple[object, str]]
    # Post one event, number n, signed with the given secret.
    post: Callable[[object, object, int], object]


def _hmac_secret(name: str) -> Callable[[], tuple[str, str]]:
    counter = iter(range(1, 100))

    def new_secret() -> tuple[str, str]:
        secret = f"{name}-secret-{next(counter)}"
        return secret, secret

    return new_secret


def _sendgrid_secret() -> tuple[object, str]:
    return sendgrid_key_pair()


PROVIDERS = {
    "mandrill": SigningProvider(
        "MANDRILL_WEBHOOK_KEY",
        _hmac_secret("mandrill"),
        lambda client, key, n: post_mandrill(
            client, [mandrill_event(message_id=f"m-{n}", ts=1_700_000_000 + n)], key=key
        ),
    ),
    "mailgun": SigningProvider(
        "MAILGUN_WEBHOOK_SIGNING_KEY",
        _hmac_secret("mailgun"),
        lambda client, key, n: post_mailgun(
            client, mailgun_body(mailgun_event_data(event_id=f"mg-{n}"), key)
        ),
    ),
    "sendgrid": SigningProvider(
        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY",
        _sendgrid_secret,
        lambda client, private_key, n: post_sendgrid(
            client, [sendgrid_event(sg_event_id=f"sg-{n}")], private_key
        ),
    ),
}


@pytest.fixture(params=sorted(PROVIDERS))
def rotating(request, settings):
    """A signing provider configured with "new,old", and the three secrets' signing halves."""
    provider = PROVIDERS[request.param]
    (new, new_setting), (old, old_setting), (other, _) = (provider.new_secret() for _ in "abc")
    setattr(settings, provider.setting, f"{new_setting}, {old_setting}")
    settings.MANDRILL_WEBHOOK_URL = []
    return provider, new, old, other


def test_webhook_signed_with_new_or_old_secret_is_stored(client, rotating):
    provider, new, old, _ = rotating

    responses = [provider.post(client, new, 1), provider.post(client, old, 2)]

    assert [r.status_code for r in responses] == [200, 200], [r.content for r in responses]
    assert [r.json()["stored"] for r in responses] == [1, 1]
    assert EmailEvent.objects.count() == 2


def test_webhook_signed_with_any_other_secret_gets_403(client, rotating):
    provider, _, _, other = rotating

    response = provider.post(client, other, 3)

    assert response.status_code == 403
    assert response.json()["error"] == "bad_signature"
    assert not EmailEvent.objects.exists()


def test_basic_auth_providers_accept_either_of_two_passwords(client, settings):
    settings.WEBHOOK_SECRET = ["mailpulse:new-pw-456", BASIC_AUTH]
    settings.ANYMAIL = {"WEBHOOK_SECRET": settings.WEBHOOK_SECRET}

    accepted = [
        post_postmark(client, postmark_event(message_id=f"pm-{n}"), auth=auth)
        for n, auth in enumerate(["mailpulse:new-pw-456", BASIC_AUTH])
    ]
    refused = post_postmark(client, postmark_event(message_id="pm-9"), auth="mailpulse:guess")

    assert [r.status_code for r in accepted] == [200, 200]
    assert refused.status_code == 401
    assert refused.json()["error"] == "unauthorized"
    assert EmailEvent.objects.count() == 2
