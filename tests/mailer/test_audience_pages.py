"""The audience pages through Django's test client: staff change things, viewers only read."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from mailer.import_tasks import import_run_task
from mailer.models import Segment, Subscriber, SubscriberImport, Suppression
from mailer.services.audience import suppression_add
from tests.mailer.factories import mailing_list, segment, subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(staff_user) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(staff_user)
    return client


@pytest.fixture
def viewer(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/audience/subscribers/",
        "/audience/subscribers/new/",
        "/audience/lists/",
        "/audience/segments/",
        "/audience/segments/new/",
        "/audience/imports/new/",
        "/audience/suppressions/",
    ],
)
def test_pages_render_for_staff(staff, url):
    response = staff.get(url)

    assert response.status_code == 200
    assert b'<nav class="subnav" aria-label="Audience">' in response.content


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/audience/subscribers/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_search_and_status_filter_and_pagination(staff):
    for n in range(55):
        subscriber(email=f"page{n:02}@example.com")
    subscriber(email="ada@example.com", first_name="Ada", status="bounced")

    found = staff.get("/audience/subscribers/", {"q": "ADA"}).content.decode()
    bounced = staff.get("/audience/subscribers/", {"status": "bounced"}).content.decode()
    first = staff.get("/audience/subscribers/").content.decode()
    second = staff.get("/audience/subscribers/", {"page": 2}).content.decode()

    assert "ada@example.com" in found and "page01@example.com" not in found
    assert "ada@example.com" in bounced and "page01@example.com" not in bounced
    assert "Page 1 of 2" in first and "56 matching" in first
    assert "page00@example.com" in second  # oldest last


def test_staff_creates_a_subscriber_through_the_form(staff):
    newsletter = mailing_list("Newsletter")

    response = staff.post(
        "/audience/subscribers/new/",
        {
            "email": "ada@example.com",
            "first_name": "Ada",
            "status": "active",
            "is_active": "on",
            "lists": [newsletter.pk],
            "attributes": "plan = pro\ncity = London",
        },
    )

    ada = Subscriber.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/audience/subscribers/{ada.pk}/"
    assert ada.attributes == {"plan": "pro", "city": "London"}
    assert list(ada.lists.all()) == [newsletter]


def test_form_shows_clear_messages(staff):
    subscriber(email="ada@example.com")

    duplicate = staff.post(
        "/audience/subscribers/new/", {"email": "ADA@example.com", "status": "active"}
    )
    invalid = staff.post("/audience/subscribers/new/", {"email": "bob@", "status": "active"})
    bad_attributes = staff.post(
        "/audience/subscribers/new/",
        {"email": "c@example.com", "status": "active", "attributes": "no equals sign"},
    )

    assert "A subscriber with this email already exists." in duplicate.content.decode()
    assert "Enter a valid email address." in invalid.content.decode()
    assert "Line 1: write each attribute as name = value." in bad_attributes.content.decode()
    assert Subscriber.objects.count() == 1


def test_staff_edits_and_deletes_a_subscriber(staff):
    ada = subscriber(email="ada@example.com")

    edited = staff.post(
        f"/audience/subscribers/{ada.pk}/",
        {"email": "ada@example.com", "last_name": "Lovelace", "status": "unsubscribed"},
    )
    ada.refresh_from_db()
    deleted = staff.post(f"/audience/subscribers/{ada.pk}/delete/")

    assert edited.status_code == 302
    assert (ada.last_name, ada.status, ada.is_active) == ("Lovelace", "unsubscribed", False)
    assert deleted.status_code == 302
    assert not Subscriber.objects.exists()


def test_viewer_reads_but_cannot_post(viewer):
    ada = subscriber(email="ada@example.com", first_name="Ada")
    newsletter = mailing_list()
    saved = segment({"status": ["active"]})

    read_only = viewer.get(f"/audience/subscribers/{ada.pk}/").content.decode()
    posts = [
        viewer.post(f"/audience/subscribers/{ada.pk}/", {"email": "x@example.com"}),
        viewer.post("/audience/subscribers/new/", {"email": "x@example.com"}),
        viewer.post(f"/audience/subscribers/{ada.pk}/delete/"),
        viewer.post("/audience/lists/", {"name": "Mine"}),
        viewer.post(f"/audience/lists/{newsletter.pk}/", {"email": ada.email}),
        viewer.post(f"/audience/segments/{saved.pk}/", {"name": "x"}),
        viewer.post("/audience/suppressions/", {"email": "x@example.com", "reason": "manual"}),
        viewer.get("/audience/imports/new/"),
    ]

    assert "<form" not in read_only.split('class="card audience-form"')[1].split("</section>")[0]
    assert "Ada" in read_only
    assert [p.status_code for p in posts] == [403] * len(posts)
    assert Subscriber.objects.get().email == "ada@example.com"


def test_forms_are_csrf_protected(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)

    response = client.post("/audience/lists/", {"name": "Newsletter"})

    assert response.status_code == 403


def test_list_page_adds_and_removes_members(staff):
    ada = subscriber(email="ada@example.com")
    newsletter = mailing_list("Newsletter")

    staff.post(f"/audience/lists/{newsletter.pk}/", {"email": "ADA@example.com"})
    shown = staff.get(f"/audience/lists/{newsletter.pk}/").content.decode()
    staff.post(f"/audience/lists/{newsletter.pk}/members/{ada.pk}/remove/")

    assert "ada@example.com" in shown and "1 members" in shown
    assert f"/api/lists/{newsletter.pk}/export/" in shown
    assert not newsletter.subscribers.exists()


def test_segment_editor_saves_rules_and_shows_the_count(staff):
    newsletter = mailing_list(members=[subscriber(), subscriber()])

    response = staff.post(
        "/audience/segments/new/",
        {"name": "Readers", "lists": [newsletter.pk], "opened_within_days": "", "status": []},
    )
    saved = Segment.objects.get()
    page = staff.get(f"/audience/segments/{saved.pk}/").content.decode()

    assert response.status_code == 302
    assert saved.rules == {"lists": [newsletter.pk]}
    assert '<output id="segment-count" aria-live="polite">2</output>' in page
    assert 'data-preview-url="/api/segments/preview-count/"' in page


def test_import_pages_upload_map_and_show_the_result(staff):
    newsletter = mailing_list("Newsletter")
    content = b"Mail;Vorname;Plan\nada@example.com;Ada;pro\nbob@;Bob;free\n"

    uploaded = staff.post(
        "/audience/imports/new/",
        {"file": SimpleUploadedFile("p.csv", content), "mailing_list": newsletter.pk},
    )
    subscriber_import = SubscriberImport.objects.get()
    mapping_page = staff.get(uploaded["Location"]).content.decode()
    started = staff.post(
        uploaded["Location"], {"column_0": "email", "column_1": "first_name", "column_2": "ignore"}
    )
    import_run_task.apply(args=[subscriber_import.pk])
    result = staff.get(uploaded["Location"]).content.decode()

    assert uploaded["Location"] == f"/audience/imports/{subscriber_import.pk}/"
    assert "Vorname" in mapping_page and '<option value="first_name" selected>' in mapping_page
    assert started.status_code == 302
    assert Subscriber.objects.get().attributes == {}
    assert "not an email address: &#x27;bob@&#x27;" in result
    assert f"/api/imports/{subscriber_import.pk}/errors/" in result


def test_mapping_without_email_is_explained(staff):
    staff.post("/audience/imports/new/", {"file": SimpleUploadedFile("p.csv", b"a,b\n1,2\n")})
    subscriber_import = SubscriberImport.objects.get()

    response = staff.post(
        f"/audience/imports/{subscriber_import.pk}/",
        {"column_0": "attribute", "column_1": "ignore"},
    )

    assert "Choose the column that holds the email address." in response.content.decode()


def test_suppression_page_adds_lists_and_removes(staff):
    staff.post(
        "/audience/suppressions/",
        {"email": "x@example.com", "reason": "manual", "note": "by phone"},
    )
    suppression_add(email="y@example.com", reason="complaint")
    page = staff.get("/audience/suppressions/", {"q": "x@"}).content.decode()
    staff.post(
        f"/audience/suppressions/{Suppression.objects.get(email='x@example.com').pk}/delete/"
    )

    assert "x@example.com" in page and "by phone" in page and "y@example.com" not in page
    assert list(Suppression.objects.values_list("email", flat=True)) == ["y@example.com"]
