import json

import pytest

from events import sns as sns_module
from events.models import EmailEvent
from tests.events import sns_fixtures
from tests.events.sns_fixtures import (
    TOPIC_ARN,
    confirmation,
    new_key,
    notification,
    post_sns,
    sign,
)
from tests.events.webhook_helpers import basic_auth
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)
# The fixtures: a signing key, and the local SNS server allowed as the certificate host.
sns_key = sns_fixtures.sns_key
sns_server = sns_fixtures.sns_server

SES_MESSAGE_ID = "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"
RECIPIENT = "recipient@example.com"


@pytest.fixture(autouse=True)
def _ses_settings(settings):
    settings.WEBHOOK_SECRET = []
    settings.AMAZON_SES_AUTO_CONFIRM = False
    settings.AMAZON_SES_TOPIC_ARNS = []


def ses_event(kind: str, detail: dict, *, to=(RECIPIENT,), type_field="eventType") -> dict:
    """An SES event record as SES publishes it to SNS (from the SES docs' examples)."""
    detail_field = {"Rendering Failure": "failure", "DeliveryDelay": "deliveryDelay"}
    return {
        type_field: kind,
        "mail": {
            "timestamp": "2026-10-19T23:20:52.240Z",
            "source": "sender@example.com",
            "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
            "sendingAccountId": "123456789012",
            "messageId": SES_MESSAGE_ID,
            "destination": list(to),
            "headersTruncated": False,
            "headers": [
                {"name": "From", "value": "sender@example.com"},
                {"name": "To", "value": ", ".join(to)},
                {"name": "Subject", "value": "Message sent from Amazon SES"},
            ],
            "commonHeaders": {
                "from": ["sender@example.com"],
                "to": list(to),
                "messageId": SES_MESSAGE_ID,
                "subject": "Message sent from Amazon SES",
            },
            "tags": {"ses:configuration-set": ["ConfigSet"]},
        },
        detail_field.get(kind, kind.lower()): detail,
    }


def bounce(bounce_type: str, sub_type: str, diagnostic: str) -> dict:
    return {
        "bounceType": bounce_type,
        "bounceSubType": sub_type,
        "bouncedRecipients": [
            {
                "emailAddress": RECIPIENT,
                "action": "failed",
                "status": diagnostic.split()[2],
                "diagnosticCode": diagnostic,
            }
        ],
        "timestamp": "2026-10-19T23:21:02.669Z",
        "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
        "reportingMTA": "dsn; mta.example.com",
    }


DELIVERY = {
    "timestamp": "2026-10-19T23:21:04.133Z",
    "processingTimeMillis": 11893,
    "recipients": [RECIPIENT],
    "smtpResponse": "250 2.6.0 Message received",
    "reportingMTA": "mta.example.com",
}
PERMANENT = bounce("Permanent", "General", "smtp; 550 5.1.1 user unknown")
TRANSIENT = bounce("Transient", "MailboxFull", "smtp; 452 4.2.2 mailbox full")
COMPLAINT = {
    "complainedRecipients": [{"emailAddress": RECIPIENT}],
    "timestamp": "2026-10-19T23:41:02.669Z",
    "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
    "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    "complaintFeedbackType": "abuse",
    "arrivalDate": "2026-10-19T23:41:02.669Z",
}
OPEN = {
    "ipAddress": "192.0.2.1",
    "timestamp": "2026-10-19T23:59:49.927Z",
    "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3 like Mac OS X)",
}
CLICK = {
    "ipAddress": "192.0.2.1",
    "link": "https://shop.example/sale?utm_source=ses",
    "linkTags": {"samplekey0": ["samplevalue0"]},
    "timestamp": "2026-10-20T00:01:25.570Z",
    "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
}
DELIVERY_DELAY = {
    "timestamp": "2026-10-19T23:25:40.095Z",
    "delayType": "TransientCommunicationFailure",
    "expirationTime": "2026-10-20T23:25:40.914Z",
    "delayedRecipients": [
        {
            "emailAddress": RECIPIENT,
            "status": "4.4.1",
            "diagnosticCode": "smtp; 421 4.4.1 Unable to connect to remote host",
        }
    ],
}
SUBSCRIPTION = {
    "contactList": "ContactListName",
    "timestamp": "2026-10-20T01:00:17.910Z",
    "source": "UnsubscribeHeader",
    "newTopicPreferences": {
        "unsubscribeAll": True,
        "topicSubscriptionStatus": [{"topicName": "News", "subscriptionStatus": "OptOut"}],
    },
    "oldTopicPreferences": {
        "unsubscribeAll": False,
        "topicSubscriptionStatus": [{"topicName": "News", "subscriptionStatus": "OptIn"}],
    },
}


def only_row() -> EmailEvent:
    return EmailEvent.objects.get()


# --- events stored


@pytest.mark.parametrize(
    ("kind", "detail", "normalized"),
    [
        ("Send", {}, "sent"),
        ("Delivery", DELIVERY, "delivered"),
        ("Bounce", PERMANENT, "bounced"),
        ("Bounce", TRANSIENT, "bounced"),
        ("Complaint", COMPLAINT, "complained"),
        ("Reject", {"reason": "Bad content"}, "rejected"),
        ("Open", OPEN, "opened"),
        ("Click", CLICK, "clicked"),
        ("DeliveryDelay", DELIVERY_DELAY, "deferred"),
        ("Rendering Failure", {"errorMessage": "No 'name'", "templateName": "T"}, "failed"),
        ("Subscription", SUBSCRIPTION, "unsubscribed"),
    ],
    ids=[
        "send",
        "delivery",
        "bounce-permanent",
        "bounce-transient",
        "complaint",
        "reject",
        "open",
        "click",
        "delivery-delay",
        "rendering-failure",
        "subscription",
    ],
)
def test_signed_ses_event_is_stored_normalized(client, sns_server, kind, detail, normalized):
    message = notification(sns_server, ses_event(kind, detail))
    response = post_sns(client, message)

    assert response.status_code == 200, response.content
    assert response.json()["stored"] == 1
    row = only_row()
    assert (row.provider, row.type, row.provider_event) == ("amazon_ses", normalized, kind)
    assert (row.recipient, row.message_id) == (RECIPIENT, SES_MESSAGE_ID)
    assert row.provider_event_id == message["MessageId"]
    assert row.raw["eventType"] == kind


@pytest.mark.parametrize(
    ("detail", "description", "mta_response"),
    [
        (PERMANENT, "Permanent: General", "smtp; 550 5.1.1 user unknown"),
        (TRANSIENT, "Transient: MailboxFull", "smtp; 452 4.2.2 mailbox full"),
    ],
    ids=["permanent", "transient"],
)
def test_bounce_keeps_kind_and_smtp_reply(client, sns_server, detail, description, mta_response):
    post_sns(client, notification(sns_server, ses_event("Bounce", detail)))

    row = only_row()
    assert (row.description, row.mta_response, row.reject_reason) == (
        description,
        mta_response,
        "bounced",
    )


def test_click_keeps_link_and_user_agent(client, sns_server):
    post_sns(client, notification(sns_server, ses_event("Click", CLICK)))

    row = only_row()
    assert (row.url, row.user_agent) == (CLICK["link"], CLICK["userAgent"])


def test_complaint_and_reject_keep_their_reason(client, sns_server):
    post_sns(client, notification(sns_server, ses_event("Complaint", COMPLAINT)))
    post_sns(client, notification(sns_server, ses_event("Reject", {"reason": "Bad content"})))

    described = dict(EmailEvent.objects.values_list("type", "description"))
    assert described == {"complained": "abuse", "rejected": "Bad content"}


def test_delivery_delay_names_only_delayed_recipients_with_their_smtp_reply(client, sns_server):
    event = ses_event("DeliveryDelay", DELIVERY_DELAY, to=(RECIPIENT, "other@example.com"))
    post_sns(client, notification(sns_server, event))

    row = only_row()
    assert (row.type, row.recipient) == ("deferred", RECIPIENT)
    assert row.description == "TransientCommunicationFailure"
    assert row.mta_response == "smtp; 421 4.4.1 Unable to connect to remote host"


def test_one_event_for_several_recipients_stores_one_row_each(client, sns_server):
    detail = {**DELIVERY, "recipients": [RECIPIENT, "second@example.com"]}
    event = ses_event("Delivery", detail, to=(RECIPIENT, "second@example.com"))
    response = post_sns(client, notification(sns_server, event))

    assert response.json()["stored"] == 2
    assert sorted(EmailEvent.objects.values_list("recipient", flat=True)) == [
        RECIPIENT,
        "second@example.com",
    ]


def test_older_notification_format_is_stored(client, sns_server):
    event = ses_event("Bounce", PERMANENT, type_field="notificationType")
    response = post_sns(client, notification(sns_server, event))

    assert response.status_code == 200
    row = only_row()
    assert (row.type, row.provider_event, row.recipient) == ("bounced", "Bounce", RECIPIENT)


@pytest.mark.parametrize("version", ["1", "2"])
def test_both_signature_versions_are_accepted(client, sns_server, version):
    message = notification(sns_server, ses_event("Delivery", DELIVERY), version=version)
    response = post_sns(client, message)

    assert response.status_code == 200, response.content
    assert only_row().type == "delivered"


def test_notification_with_subject_is_verified(client, sns_server):
    message = notification(sns_server, ses_event("Open", OPEN), subject="Amazon SES event")
    assert post_sns(client, message).status_code == 200


def test_json_content_type_is_accepted(client, sns_server):
    message = notification(sns_server, ses_event("Send", {}))
    response = post_sns(client, message, content_type="application/json")

    assert response.status_code == 200
    assert EmailEvent.objects.count() == 1


def test_redelivered_notification_stores_nothing_new(client, sns_server):
    message = notification(sns_server, ses_event("Delivery", DELIVERY))
    first = post_sns(client, message)
    again = post_sns(client, message)

    assert first.json()["stored"] == 1
    assert again.status_code == 200
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 1)
    assert EmailEvent.objects.count() == 1


def test_detected_by_sns_headers_without_provider_in_url(client, sns_server):
    response = post_sns(client, notification(sns_server, ses_event("Send", {})), path="/api/hook/")

    assert response.status_code == 200, response.content
    assert response.json()["provider"] == "amazon_ses"
    assert only_row().provider == "amazon_ses"


def test_certificate_is_fetched_once_for_several_posts(client, sns_server):
    for kind, detail in [("Send", {}), ("Delivery", DELIVERY), ("Open", OPEN)]:
        assert (
            post_sns(client, notification(sns_server, ses_event(kind, detail))).status_code == 200
        )

    assert EmailEvent.objects.count() == 3
    assert len(sns_server.requests_for(sns_server.cert_path)) == 1


def test_topic_validation_notification_stores_nothing(client, sns_server):
    text = "Successfully validated SNS topic for Amazon SES event publishing."
    response = post_sns(client, notification(sns_server, text))

    assert response.status_code == 200
    assert response.json()["stored"] == 0
    assert not EmailEvent.objects.exists()


# --- refused: nothing stored


def assert_refused(response, status: int, error: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"] == error
    assert not EmailEvent.objects.exists()


def test_tampered_message_is_refused(client, sns_server):
    message = notification(sns_server, ses_event("Delivery", DELIVERY))
    forged = ses_event("Delivery", {**DELIVERY, "recipients": ["victim@example.com"]})

    response = post_sns(client, {**message, "Message": json.dumps(forged)})

    assert_refused(response, 403, "bad_signature")
    assert "does not match" in response.json()["detail"]


def test_signature_by_another_key_is_refused(client, sns_server):
    message = notification(sns_server, ses_event("Delivery", DELIVERY), key=new_key())

    assert_refused(post_sns(client, message), 403, "bad_signature")


@pytest.mark.parametrize(
    "change",
    [
        {"Signature": "not base64!"},
        {"Signature": ""},
        {"SignatureVersion": "3"},
        {"SigningCertURL": None},
    ],
)
def test_unsigned_or_oddly_signed_message_is_refused(client, sns_server, change):
    message = {**notification(sns_server, ses_event("Send", {})), **change}

    assert_refused(post_sns(client, message), 403, "bad_signature")


@pytest.mark.parametrize(
    "cert_url",
    [
        "http://localhost:{port}{path}",
        "http://127.0.0.2:{port}{path}",
        "http://127.0.0.1:{other_port}{path}",
        "http://user@127.0.0.1:{port}{path}",
        "ftp://127.0.0.1:{port}{path}",
        "file:///etc/ssl/certs/ca-certificates.crt",
    ],
)
def test_cert_url_on_a_host_not_allowed_is_refused_without_fetching(client, sns_server, cert_url):
    url = cert_url.format(port=sns_server.port, other_port=free_port(), path=sns_server.cert_path)
    message = {**notification(sns_server, ses_event("Send", {})), "SigningCertURL": url}

    response = post_sns(client, message)

    assert_refused(response, 403, "bad_signature")
    assert "not on an allowed host" in response.json()["detail"]
    assert sns_server.requests == []


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-1.pem",
        "https://evil.example/sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com@evil.example/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
        "https://sns.evil.amazonaws.com/SimpleNotificationService-1.pem",
        "https://xsns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazon\naws.com/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com /SimpleNotificationService-1.pem",
    ],
)
def test_cert_url_not_matching_aws_sns_is_refused_by_default(
    client, sns_server, settings, cert_url
):
    settings.AMAZON_SES_SNS_CERT_HOSTS = []
    message = {**notification(sns_server, ses_event("Send", {})), "SigningCertURL": cert_url}

    response = post_sns(client, message)

    # 403 and not 503: the URL was refused before any fetch was tried.
    assert_refused(response, 403, "bad_signature")
    assert "not on an allowed host" in response.json()["detail"]


def test_default_hosts_do_not_include_a_local_server(client, sns_server, settings):
    settings.AMAZON_SES_SNS_CERT_HOSTS = []

    assert_refused(
        post_sns(client, notification(sns_server, ses_event("Send", {}))), 403, "bad_signature"
    )
    assert sns_server.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
        "https://sns.eu-west-1.amazonaws.com:443/SimpleNotificationService-1.pem",
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.ap-southeast-2.amazonaws.com/SimpleNotificationService-1.pem",
    ],
)
def test_aws_sns_hosts_are_allowed_over_https_by_default(url):
    assert sns_module.url_allowed(url, [])
    assert not sns_module.url_allowed(url, ["127.0.0.1:8000"])


def test_listed_host_without_port_is_allowed_over_https_only():
    hosts = ["sns.example.net"]

    assert sns_module.url_allowed("https://sns.example.net/cert.pem", hosts)
    assert not sns_module.url_allowed("http://sns.example.net/cert.pem", hosts)
    assert not sns_module.url_allowed("https://sns.example.net:8443/cert.pem", hosts)


def test_topic_not_listed_is_refused_without_fetching(client, sns_server, settings):
    settings.AMAZON_SES_TOPIC_ARNS = ["arn:aws:sns:us-east-1:123456789012:other-topic"]

    response = post_sns(client, notification(sns_server, ses_event("Send", {})))

    assert_refused(response, 403, "unexpected_topic")
    assert sns_server.requests == []


def test_listed_topic_is_accepted(client, sns_server, settings):
    settings.AMAZON_SES_TOPIC_ARNS = ["arn:aws:sns:us-east-1:123456789012:other", TOPIC_ARN]

    assert post_sns(client, notification(sns_server, ses_event("Send", {}))).status_code == 200
    assert EmailEvent.objects.count() == 1


def authorization(credentials: str) -> dict:
    return {"authorization": basic_auth(credentials)["HTTP_AUTHORIZATION"]}


@pytest.mark.parametrize("headers", [{}, authorization("sns:wrong")])
def test_wrong_or_missing_basic_auth_is_refused_before_fetching(
    client, sns_server, settings, headers
):
    settings.WEBHOOK_SECRET = ["sns:s3cret"]
    message = notification(sns_server, ses_event("Send", {}))

    response = post_sns(client, message, **headers)

    assert_refused(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Basic realm=")
    assert sns_server.requests == []


def test_right_basic_auth_and_signature_are_accepted(client, sns_server, settings):
    settings.WEBHOOK_SECRET = ["sns:s3cret"]
    message = notification(sns_server, ses_event("Send", {}))

    response = post_sns(client, message, **authorization("sns:s3cret"))

    assert response.status_code == 200, response.content
    assert response.json()["verified"] is True
    assert EmailEvent.objects.count() == 1


def test_unreachable_certificate_host_answers_503_so_sns_retries(client, sns_server, settings):
    port = free_port()
    settings.AMAZON_SES_SNS_CERT_HOSTS = [f"127.0.0.1:{port}"]
    url = f"http://127.0.0.1:{port}/SimpleNotificationService-1.pem"
    message = {**notification(sns_server, ses_event("Send", {})), "SigningCertURL": url}

    response = post_sns(client, message)

    assert_refused(response, 503, "sns_unavailable")
    assert response["Retry-After"]


def test_missing_certificate_is_refused(client, sns_server):
    url = sns_server.url("/SimpleNotificationService-gone.pem")
    message = {**notification(sns_server, ses_event("Send", {})), "SigningCertURL": url}

    response = post_sns(client, message)

    assert_refused(response, 403, "bad_signature")
    assert "HTTP 404" in response.json()["detail"]


# --- malformed: 400, nothing stored


@pytest.mark.parametrize(
    "body",
    ["this is not json", "[1, 2]", json.dumps({"Type": "Gossip", "MessageId": "m-1"})],
)
def test_body_that_is_not_an_sns_message_is_refused(client, sns_server, body):
    response = client.post(
        "/api/hook/amazon_ses/",
        body,
        content_type="text/plain; charset=UTF-8",
        headers={"x-amz-sns-message-type": "Notification", "x-amz-sns-message-id": "m-1"},
    )

    assert_refused(response, 400, "malformed")
    assert sns_server.requests == []


def test_message_that_is_not_json_is_refused(client, sns_server):
    response = post_sns(client, notification(sns_server, "{not json"))

    assert_refused(response, 400, "malformed")
    assert "Unparsable SNS Message" in response.json()["detail"]


def test_ses_event_missing_its_details_is_refused(client, sns_server):
    event = ses_event("Bounce", {"bounceType": "Permanent", "bounceSubType": "General"})
    response = post_sns(client, notification(sns_server, event))

    assert_refused(response, 400, "malformed")


def test_headers_contradicting_the_body_are_refused(client, sns_server):
    message = notification(sns_server, ses_event("Send", {}))
    response = post_sns(client, message, **{"x-amz-sns-message-type": "SubscriptionConfirmation"})

    assert_refused(response, 400, "malformed")
    assert "x-amz-sns-message-type" in response.json()["detail"]


def test_notification_missing_a_signed_field_is_refused(client, sns_server):
    message = notification(sns_server, ses_event("Send", {}))
    del message["Timestamp"]

    assert_refused(post_sns(client, message), 400, "malformed")


# --- subscriptions


def test_subscription_is_confirmed_when_auto_confirm_is_on(client, sns_server, settings):
    settings.AMAZON_SES_AUTO_CONFIRM = True
    message = confirmation(sns_server)

    response = post_sns(client, message)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["stored"] == 0
    assert body["skipped"][0]["confirmed"] is True
    assert body["skipped"][0]["sns_type"] == "SubscriptionConfirmation"
    assert sns_server.requests_for("/confirm") == [
        message["SubscribeURL"].removeprefix(sns_server.url(""))
    ]
    assert not EmailEvent.objects.exists()


def test_subscription_is_not_confirmed_when_auto_confirm_is_off(client, sns_server):
    response = post_sns(client, confirmation(sns_server))

    assert response.status_code == 200
    skipped = response.json()["skipped"][0]
    assert skipped["confirmed"] is False
    assert "AMAZON_SES_AUTO_CONFIRM" in skipped["reason"]
    assert sns_server.requests_for("/confirm") == []
    assert not EmailEvent.objects.exists()


def test_subscribe_url_on_a_host_not_allowed_is_not_visited(client, sns_server, settings):
    settings.AMAZON_SES_AUTO_CONFIRM = True
    url = f"http://localhost:{sns_server.port}/confirm?Action=ConfirmSubscription&Token=t"

    response = post_sns(client, confirmation(sns_server, subscribe_url=url))

    assert response.status_code == 200, response.content
    skipped = response.json()["skipped"][0]
    assert skipped["confirmed"] is False
    assert "not on an allowed host" in skipped["reason"]
    assert sns_server.requests_for("/confirm") == []


def test_unreachable_subscribe_url_answers_503_so_sns_retries(client, sns_server, settings):
    port = free_port()
    settings.AMAZON_SES_AUTO_CONFIRM = True
    settings.AMAZON_SES_SNS_CERT_HOSTS = [f"127.0.0.1:{sns_server.port}", f"127.0.0.1:{port}"]
    url = f"http://127.0.0.1:{port}/confirm?Action=ConfirmSubscription&Token=t"

    response = post_sns(client, confirmation(sns_server, subscribe_url=url))

    assert_refused(response, 503, "sns_unavailable")
    assert response["Retry-After"]


def test_forged_subscription_confirmation_is_refused_and_not_confirmed(
    client, sns_server, settings
):
    settings.AMAZON_SES_AUTO_CONFIRM = True

    response = post_sns(client, confirmation(sns_server, key=new_key()))

    assert_refused(response, 403, "bad_signature")
    assert sns_server.requests_for("/confirm") == []


def test_subscription_for_a_topic_not_listed_is_refused(client, sns_server, settings):
    settings.AMAZON_SES_AUTO_CONFIRM = True
    settings.AMAZON_SES_TOPIC_ARNS = ["arn:aws:sns:us-east-1:123456789012:other-topic"]

    response = post_sns(client, confirmation(sns_server))

    assert_refused(response, 403, "unexpected_topic")
    assert sns_server.requests == []


def test_unsubscribe_confirmation_is_verified_and_stores_nothing(client, sns_server):
    response = post_sns(client, confirmation(sns_server, "UnsubscribeConfirmation"))

    assert response.status_code == 200, response.content
    assert response.json()["skipped"][0]["sns_type"] == "UnsubscribeConfirmation"
    assert not EmailEvent.objects.exists()
    assert sns_server.requests_for("/confirm") == []


def test_canonical_string_is_the_documented_fields_in_order(sns_key):
    signed = sign(
        {
            "Type": "Notification",
            "MessageId": "m-1",
            "TopicArn": TOPIC_ARN,
            "Message": "hello",
            "Timestamp": "2026-10-19T23:20:52.240Z",
        },
        sns_key,
    )

    assert (
        sns_module.canonical_string(signed)
        == (
            "Message\nhello\nMessageId\nm-1\nTimestamp\n2026-10-19T23:20:52.240Z\n"
            f"TopicArn\n{TOPIC_ARN}\nType\nNotification\n"
        ).encode()
    )
    assert sns_module.canonical_string({**signed, "Subject": "Hi"}).startswith(
        b"Message\nhello\nMessageId\nm-1\nSubject\nHi\nTimestamp\n"
    )


def test_confirmation_canonical_string_includes_subscribe_url_and_token(sns_server):
    message = confirmation(sns_server)

    assert (
        sns_module.canonical_string(message)
        == (
            f"Message\n{message['Message']}\nMessageId\n{message['MessageId']}\n"
            f"SubscribeURL\n{message['SubscribeURL']}\nTimestamp\n{message['Timestamp']}\n"
            f"Token\n{message['Token']}\nTopicArn\n{TOPIC_ARN}\n"
            "Type\nSubscriptionConfirmation\n"
        ).encode()
    )
