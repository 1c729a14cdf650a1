import pytest

from events.models import EmailEvent
from tests.events.webhook_helpers import mandrill_event, post_mandrill

KEY = "mandrill-test-key"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _mandrill_key(settings):
    settings.MANDRILL_WEBHOOK_KEY = KEY
    settings.MANDRILL_WEBHOOK_URL = []


@pytest.mark.parametrize(
    ("provider_event", "normalized"),
    [
        ("send", "sent"),
        ("delivered", "delivered"),
        ("deferral", "deferred"),
        ("hard_bounce", "bounced"),
        ("soft_bounce", "bounced"),
        ("open", "opened"),
        ("click", "clicked"),
        ("spam", "complained"),
        ("unsub", "unsubscribed"),
        ("reject", "rejected"),
    ],
)
def test_signed_event_is_stored_normalized(client, provider_event, normalized):
    event = mandrill_event(provider_event, email="Ada@Example.com", message_id="m-42")
    response = post_mandrill(client, [event], key=KEY)

    assert response.status_code == 200, response.content
    assert response.json()["stored"] == 1
    row = EmailEvent.objects.get()
    assert (row.provider, row.type, row.provider_event) == ("mandrill", normalized, provider_event)
    assert (row.recipient, row.message_id) == ("Ada@Example.com", "m-42")
    assert row.tags == ["autumn"]
    assert row.raw["event"] == provider_event
    assert int(row.timestamp.timestamp()) == event["ts"]


def test_click_keeps_url_and_user_agent(client):
    event = mandrill_event("click", url="https://shop.example/sale", user_agent="Mozilla/5.0")
    post_mandrill(client, [event], key=KEY)

    row = EmailEvent.objects.get()
    assert (row.url, row.user_agent) == ("https://shop.example/sale", "Mozilla/5.0")


def test_bounce_keeps_mta_response(client):
    event = mandrill_event("hard_bounce", msg={"diag": "smtp;550 5.1.1 user unknown"})
    post_mandrill(client, [event], key=KEY)

    assert EmailEvent.objects.get().mta_response == "smtp;550 5.1.1 user unknown"


def test_wrong_signature_is_refused_and_stores_nothing(client):
    response = post_mandrill(client, [mandrill_event()], key="not-the-key")

    assert response.status_code == 403
    assert response.json()["error"] == "bad_signature"
    assert not EmailEvent.objects.exists()


def test_missing_signature_is_refused(client):
    response = post_mandrill(client, [mandrill_event()])

    assert response.status_code == 403
    assert "X-Mandrill-Signature" in response.json()["detail"]
    assert not EmailEvent.objects.exists()


def test_signature_for_the_configured_public_url_is_accepted(client, settings):
    public = "https://mail.example.com/api/hook/mandrill/"
    settings.MANDRILL_WEBHOOK_URL = ["https://old.example.com/hook/", public]
    import json
    from urllib.parse import urlencode

    from tests.events.webhook_helpers import mandrill_signature

    params = {"mandrill_events": json.dumps([mandrill_event()])}
    response = client.post(
        "/api/hook/mandrill/",
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_MANDRILL_SIGNATURE=mandrill_signature(KEY, public, params),
    )

    assert response.status_code == 200
    assert EmailEvent.objects.count() == 1


def test_replayed_batch_stores_nothing_new(client):
    batch = [mandrill_event("open", ts=1700000000), mandrill_event("click", ts=1700000001)]
    first = post_mandrill(client, batch, key=KEY)
    again = post_mandrill(client, batch, key=KEY)

    assert first.json()["stored"] == 2
    assert again.status_code == 200
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 2)
    assert EmailEvent.objects.count() == 2


def test_thousand_event_batch_is_stored_in_one_request(client):
    batch = [
        mandrill_event("delivered", email=f"r{i}@example.com", message_id=f"m{i}")
        for i in range(1000)
    ]
    response = post_mandrill(client, batch, key=KEY)

    assert response.status_code == 200
    assert response.json()["stored"] == 1000
    assert EmailEvent.objects.filter(provider="mandrill").count() == 1000


def test_empty_check_post_answers_200_and_stores_nothing(client):
    response = post_mandrill(client, [])

    assert response.status_code == 200
    assert response.json()["stored"] == 0
    assert not EmailEvent.objects.exists()


@pytest.mark.parametrize("method", ["get", "head"])
@pytest.mark.parametrize("path", ["/api/hook/", "/api/hook/mandrill/"])
def test_probes_answer_200(client, method, path):
    assert getattr(client, method)(path).status_code == 200


def test_unsigned_post_is_accepted_when_no_key_is_configured(client, settings):
    settings.MANDRILL_WEBHOOK_KEY = ""
    response = post_mandrill(client, [mandrill_event()])

    assert response.status_code == 200
    assert response.json()["verified"] is False
    assert EmailEvent.objects.count() == 1


def test_detected_without_provider_in_url(client):
    response = post_mandrill(client, [mandrill_event()], key=KEY, path="/api/hook/")

    assert response.status_code == 200
    assert EmailEvent.objects.get().provider == "mandrill"


def test_event_without_recipient_or_message_is_skipped_and_listed(client):
    broken = {"event": "delivered", "ts": 1700000000, "msg": {}}
    response = post_mandrill(client, [mandrill_event(), broken], key=KEY)

    assert response.status_code == 200
    body = response.json()
    assert body["stored"] == 1
    assert body["skipped"] == [
        {"index": 1, "reason": "event has neither a recipient nor a message id"}
    ]
