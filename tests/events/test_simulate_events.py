from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from events.models import EmailEvent
from mailer.models import Campaign

KEY = "simulator-test-key"
STORY = ("sent", "delivered", "opened", "clicked")


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
