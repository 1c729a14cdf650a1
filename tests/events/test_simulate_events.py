import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from events.models import EmailEvent
from mailer.models import Campaign

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "simulator-test-key"
SECRET = "mailpulse:hook-pw-123"
STORY = ("sent", "delivered", "opened", "clicked")
EVERY_TYPE = (
    "sent=1,delivered=1,opened=1,clicked=1,bounced=1,deferred=1,complained=1,unsubscribed=1,"
    "rejected=1"
)
# What each provider's adapter stores for EVERY_TYPE: the types it reports, in its own words
# (most call a message handed over for sending "queued").
ENGAGED = {"delivered", "opened", "clicked", "bounced", "deferred", "complained"}
STORED_TYPES = {
    "mailgun": ENGAGED | {"queued", "unsubscribed", "rejected"},
    "sendgrid": ENGAGED | {"queued", "unsubscribed", "rejected"},
    "sparkpost": ENGAGED | {"queued", "unsubscribed", "rejected"},
    "postmark": ENGAGED | {"unsubscribed"},
    "brevo": ENGAGED | {"queued", "unsubscribed", "rejected"},
    "mailjet": ENGAGED | {"unsubscribed", "rejected"},
    "resend": ENGAGED | {"sent", "rejected"},
}


@pytest.fixture
def hook_url(daphne_factory, settings) -> str:
    """A live server that checks Mandrill signatures, and the simulator signing with its key."""
    settings.MANDRILL_WEBHOOK_KEY = KEY
    return f"{daphne_factory(MANDRILL_WEBHOOK_KEY=KEY).url}/api/hook/mandrill/"


def simulate(url: str, **options) -> str:
    out = StringIO()
    call_command("simulate_events", url=url, stdout=out, **{"rate": 500, **options})
    return out.getvalue()


def test_signed_events_are_stored_and_linked_to_the_campaign(hook_url):
    campaign = Campaign.objects.create(name="Autumn sale")

    output = simulate(hook_url, count=40, batch=10, campaign=campaign.id)

    assert "40 events posted in 4 requests, 40 stored, 0 duplicates" in output
    rows = EmailEvent.objects.all()
    assert rows.count() == 40
    assert {(e.provider, e.campaign_id) for e in rows} == {("mandrill", campaign.id)}
    assert {e.type for e in rows} <= {
        "sent", "delivered", "opened", "clicked", "bounced", "deferred",
        "complained", "unsubscribed", "rejected",
    }  # fmt: skip
    assert all("@" in e.recipient and e.message_id for e in rows)


def test_each_message_tells_its_story_in_order(hook_url):
    simulate(hook_url, count=120, batch=20, mix="sent=1,delivered=1,opened=1,clicked=1")

    stories: dict[str, list[str]] = {}
    for event in EmailEvent.objects.order_by("timestamp", "id"):
        stories.setdefault(event.message_id, []).append(event.type)
    for story in stories.values():
        steps = [STORY.index(event_type) for event_type in story]
        assert steps == sorted(steps), story
    assert any(story[:3] == ["sent", "delivered", "opened"] for story in stories.values())
    assert len(stories) < 120  # messages are reused


def test_mix_chooses_the_types_and_clicks_and_bounces_carry_their_details(hook_url):
    simulate(hook_url, count=12, batch=6, mix="bounced=1,clicked=1")

    rows = EmailEvent.objects.all()
    assert {e.type for e in rows} == {"bounced", "clicked"}
    assert all(e.mta_response.startswith("smtp;") for e in rows if e.type == "bounced")
    assert all(e.url.startswith("https://") and e.user_agent for e in rows if e.type == "clicked")


def test_duration_stops_the_run_by_itself(hook_url):
    output = simulate(hook_url, duration=1.0, batch=1, rate=5)

    posted = EmailEvent.objects.count()
    assert 3 <= posted <= 7
    assert f"{posted} events posted" in output


def test_a_wrong_key_stops_with_the_servers_refusal(hook_url, settings):
    settings.MANDRILL_WEBHOOK_KEY = "not-the-servers-key"

    with pytest.raises(CommandError, match="answered 403"):
        simulate(hook_url, count=5)
    assert not EmailEvent.objects.exists()


def test_an_unknown_type_in_the_mix_is_refused():
    with pytest.raises(CommandError, match="--mix: 'openned=3'"):
        simulate("http://127.0.0.1:9/api/hook/mandrill/", mix="openned=3")


# --- every provider


@pytest.fixture
def start_server(daphne_factory, settings):
    """Starts a live server with these settings, which the simulator (this process) shares;
    the URL of its webhook for `provider`."""

    def start(provider: str, **env: str) -> str:
        for name, value in env.items():
            setattr(settings, name, [value] if name == "WEBHOOK_SECRET" else value)
        return f"{daphne_factory(**env).url}/api/hook/{provider}/"

    return start


def counts(output: str) -> tuple[int, int, int]:
    """Events posted, requests and events stored, from the command's summary."""
    found = re.search(r"Done: (\d+) events posted in (\d+) requests, (\d+) stored", output)
    assert found, output
    return int(found[1]), int(found[2]), int(found[3])


@pytest.mark.parametrize(
    ("provider", "env", "requests"),
    [
        ("mailgun", {"MAILGUN_WEBHOOK_SIGNING_KEY": KEY}, 90),
        ("sendgrid", {}, 9),
        ("sparkpost", {"WEBHOOK_SECRET": SECRET}, 9),
        ("postmark", {"WEBHOOK_SECRET": SECRET}, 90),
        ("brevo", {"WEBHOOK_SECRET": SECRET}, 90),
        ("mailjet", {"WEBHOOK_SECRET": SECRET}, 9),
        ("resend", {"WEBHOOK_SECRET": SECRET}, 90),
    ],
)
def test_each_provider_posts_what_its_adapter_stores(start_server, provider, env, requests):
    campaign = Campaign.objects.create(name="Autumn sale")
    url = start_server(provider, **env)

    output = simulate(url, provider=provider, count=90, mix=EVERY_TYPE, campaign=campaign.id)

    assert_stored_as_the_provider_reports(provider, output, requests, campaign)


def assert_stored_as_the_provider_reports(provider, output, requests, campaign) -> None:
    posted, sent_requests, stored = counts(output)
    assert (posted, sent_requests) == (90, requests)
    rows = EmailEvent.objects.all()
    assert stored == rows.count() == 90
    assert {(e.provider, e.campaign_id) for e in rows} == {(provider, campaign.id)}
    assert {e.type for e in rows} == STORED_TYPES[provider]
    assert all("@" in e.recipient and e.message_id for e in rows)
    assert len({e.message_id for e in rows}) < stored  # messages tell stories
    clicks = [e for e in rows if e.type == "clicked"]
    assert clicks and all(e.url.startswith("https://shop.example/") for e in clicks)
    assert all(e.mta_response for e in rows if e.type == "bounced")


def test_providers_without_an_event_leave_it_out_of_the_mix(start_server):
    url = start_server("postmark", WEBHOOK_SECRET=SECRET)

    output = simulate(url, provider="postmark", count=6, mix="sent=1,rejected=1,delivered=1")

    assert "postmark has no webhook event for rejected, sent: left out of the mix." in output
    assert set(EmailEvent.objects.values_list("type", flat=True)) == {"delivered"}


def test_a_mix_of_only_unreported_types_is_refused():
    with pytest.raises(CommandError, match="--mix: resend reports none of these types"):
        simulate("http://127.0.0.1:9/api/hook/resend/", provider="resend", mix="unsubscribed=1")


def test_one_event_per_request_providers_say_batch_is_unused(start_server):
    url = start_server("mailgun", MAILGUN_WEBHOOK_SIGNING_KEY=KEY)

    output = simulate(url, provider="mailgun", count=5, batch=5)

    assert "mailgun posts one event per request: --batch is unused." in output
    assert "5 events posted in 5 requests, 5 stored, 0 duplicates" in output


def test_mailgun_signed_with_another_key_is_refused(start_server, settings):
    url = start_server("mailgun", MAILGUN_WEBHOOK_SIGNING_KEY=KEY)
    settings.MAILGUN_WEBHOOK_SIGNING_KEY = "not-the-servers-key"

    with pytest.raises(CommandError, match="answered 403"):
        simulate(url, provider="mailgun", count=3)
    assert not EmailEvent.objects.exists()


def test_a_wrong_basic_auth_secret_is_refused_with_a_hint(start_server, settings):
    url = start_server("brevo", WEBHOOK_SECRET=SECRET)
    settings.WEBHOOK_SECRET = ["mailpulse:wrong"]

    with pytest.raises(CommandError, match=r"answered 401.*Set WEBHOOK_SECRET here"):
        simulate(url, provider="brevo", count=3)
    assert not EmailEvent.objects.exists()


def test_sendgrid_with_a_verification_key_is_refused_before_posting(settings):
    settings.SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"

    with pytest.raises(CommandError, match=r"cannot sign them.*VERIFICATION_KEY"):
        simulate("http://127.0.0.1:9/api/hook/sendgrid/", provider="sendgrid", count=3)
