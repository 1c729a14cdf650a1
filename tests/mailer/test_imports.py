"""CSV imports through the API, run in-process by the real task against PostgreSQL."""

import codecs
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token

from config.asgi import application
from mailer.import_tasks import import_run_task
from mailer.models import Subscriber, SubscriberImport
from mailer.services import imports
from tests.mailer.factories import client_for, mailing_list, subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(staff_user):
    return client_for(staff_user)


def _upload(client, content: bytes, name: str = "people.csv", **fields):
    return client.post(
        "/api/imports/",
        {"file": SimpleUploadedFile(name, content, content_type="text/csv"), **fields},
        format="multipart",
    )


def _import(client, content: bytes, **fields) -> dict:
    """Upload, run the queued task in-process, and return the import as the API shows it."""
    response = _upload(client, content, **fields)
    assert response.status_code == 201, response.json()
    import_run_task.apply(args=[response.json()["id"]])
    return client.get(f"/api/imports/{response.json()['id']}/").json()


def test_bad_rows_are_reported_with_their_line_numbers(staff_client):
    content = b"email,first_name\nada@example.com,Ada\nbob@,Bob\n,Nobody\n\ncy@example.com,Cy\n"

    result = _import(staff_client, content)
    errors_csv = staff_client.get(result["errors_url"])

    assert result["status"] == "done"
    assert result["created_count"] == 2
    assert result["error_count"] == 2
    assert result["errors"] == [
        {"line": 3, "reason": "not an email address: 'bob@'"},
        {"line": 4, "reason": "missing email"},
    ]
    assert b"".join(errors_csv.streaming_content).decode().splitlines() == [
        "line,reason",
        "3,not an email address: 'bob@'",
        "4,missing email",
    ]


def test_known_addresses_are_updated_and_repeats_counted_once(staff_client):
    ada = subscriber(email="ada@example.com", first_name="A", attributes={"city": "London"})
    content = (
        b"email,first_name,plan\n"
        b"ADA@example.com,Ada,pro\n"
        b"bob@example.com,Bob,free\n"
        b"Bob@Example.com,Robert,pro\n"
    )

    result = _import(staff_client, content)

    assert (result["created_count"], result["updated_count"]) == (1, 1)
    assert result["duplicate_count"] == 1
    assert Subscriber.objects.count() == 2
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"
    assert ada.first_name == "Ada"
    assert ada.attributes == {"city": "London", "plan": "pro"}
    assert Subscriber.objects.get(email__iexact="bob@example.com").first_name == "Bob"


@pytest.mark.parametrize(
    "content",
    [
        codecs.BOM_UTF8 + "email,first_name\nzoe@example.com,Zoë\n".encode(),
        "email,first_name\r\nzoe@example.com,Zoë\r\n".encode("utf-16"),
        "email;first_name\nzoe@example.com;Zoë\n".encode("latin-1"),
        "email\tfirst_name\nzoe@example.com\tZoë\n".encode("cp1252"),
    ],
    ids=["utf-8-bom", "utf-16", "latin-1-semicolons", "cp1252-tabs"],
)
def test_odd_encodings_and_delimiters_are_read(staff_client, content):
    result = _import(staff_client, content)

    assert result["created_count"] == 1, result
    assert Subscriber.objects.get().first_name == "Zoë"


def test_extra_columns_become_attributes_and_ignored_ones_do_not(staff_client):
    content = b"E-Mail;Vorname;Nachname;Plan;Notes\nada@example.com;Ada;Lovelace;pro;secret\n"
    uploaded = _upload(staff_client, content, start="false").json()

    started = staff_client.post(
        f"/api/imports/{uploaded['id']}/start/",
        {"mapping": {**uploaded["suggested_mapping"], "ignore": ["Notes"]}},
        format="json",
    )
    import_run_task.apply(args=[uploaded["id"]])

    assert uploaded["status"] == "pending"
    assert uploaded["columns"] == ["E-Mail", "Vorname", "Nachname", "Plan", "Notes"]
    assert uploaded["suggested_mapping"] == {
        "email": "E-Mail",
        "first_name": "Vorname",
        "last_name": "Nachname",
        "ignore": [],
    }
    assert started.status_code == 200
    ada = Subscriber.objects.get()
    assert (ada.first_name, ada.last_name, ada.attributes) == ("Ada", "Lovelace", {"Plan": "pro"})


def test_a_mapping_without_the_email_column_is_refused(staff_client):
    uploaded = _upload(staff_client, b"a,b\n1,2\n", start="false").json()

    response = staff_client.post(
        f"/api/imports/{uploaded['id']}/start/", {"mapping": {"email": "c"}}, format="json"
    )

    assert response.status_code == 400
    assert "no column 'c'" in response.json()["fields"]["mapping"][0]


def test_upload_that_cannot_start_keeps_nothing(staff_client):
    response = _upload(staff_client, b"name,city\nAda,London\n")

    assert response.status_code == 400
    assert "email address" in response.json()["fields"]["mapping"][0]
    assert not SubscriberImport.objects.exists()


def test_imported_subscribers_join_the_target_list(staff_client):
    known = subscriber(email="known@example.com")
    newsletter = mailing_list()

    _import(
        staff_client, b"email\nknown@example.com\nnew@example.com\n", mailing_list=newsletter.pk
    )

    assert set(newsletter.subscribers.values_list("email", flat=True)) == {
        known.email,
        "new@example.com",
    }


def test_final_state_and_progress_through_the_api(staff_client, django_capture_on_commit_callbacks):
    rows = "".join(f"p{n}@example.com\n" for n in range(5000))

    with django_capture_on_commit_callbacks() as queued:
        uploaded = _upload(staff_client, ("email\n" + rows).encode()).json()
    before = staff_client.get(f"/api/imports/{uploaded['id']}/").json()
    import_run_task.apply(args=[uploaded["id"]])
    after = staff_client.get(f"/api/imports/{uploaded['id']}/").json()

    assert len(queued) == 1  # the task is queued once the upload is committed
    assert (before["status"], before["processed_rows"], before["total_rows"]) == (
        "pending",
        0,
        5000,
    )
    assert (after["status"], after["processed_rows"], after["created_count"]) == (
        "done",
        5000,
        5000,
    )
    assert after["finished_at"]


def test_file_over_the_size_limit_is_413(staff_client, settings):
    settings.IMPORT_MAX_BYTES = 100

    response = _upload(staff_client, b"email\n" + b"a@example.com\n" * 20)

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert not SubscriberImport.objects.exists()


def test_file_over_the_row_limit_is_refused_clearly(staff_client, settings):
    settings.IMPORT_MAX_ROWS = 2

    response = _upload(staff_client, b"email\na@example.com\nb@example.com\nc@example.com\n")

    assert response.status_code == 400
    assert response.json()["fields"]["file"] == [
        "The file has 3 rows; at most 2 can be imported at once. Split it into smaller files."
    ]


def test_viewer_cannot_upload(api_client):
    assert _upload(api_client, b"email\na@example.com\n").status_code == 403


@pytest.mark.django_db(transaction=True)
async def test_progress_frames_reach_the_websocket(staff_user, monkeypatch):
    monkeypatch.setattr(imports, "PROGRESS_INTERVAL_S", 0)
    token = await sync_to_async(lambda: Token.objects.create(user=staff_user).key)()
    rows = "".join(f"p{n}@example.com\n" for n in range(5000))
    subscriber_import = await sync_to_async(imports.import_create)(
        name="p.csv", content=("email\n" + rows).encode()
    )
    await sync_to_async(imports.import_start)(
        subscriber_import=subscriber_import, mapping={"email": "email"}
    )
    communicator = WebsocketCommunicator(
        application,
        "/ws/email/",
        headers=[(b"origin", b"http://localhost"), (b"authorization", f"Token {token}".encode())],
    )
    assert (await communicator.connect())[0]
    await communicator.receive_json_from(timeout=2)  # the snapshot

    await sync_to_async(imports.import_run)(import_id=subscriber_import.pk)
    frames = []
    while not frames or frames[-1]["status"] != "done":
        frames.append(await communicator.receive_json_from(timeout=2))
    await communicator.disconnect()

    assert {f["type"] for f in frames} == {"progress"}
    assert {(f["kind"], f["id"]) for f in frames} == {("import", subscriber_import.pk)}
    assert [f["done"] for f in frames] == [0, 2000, 4000, 5000]
    assert frames[-1] == {
        "type": "progress",
        "kind": "import",
        "id": subscriber_import.pk,
        "status": "done",
        "done": 5000,
        "total": 5000,
        "created": 5000,
        "updated": 0,
        "errors": 0,
    }


# Committed batch by batch, as in a worker: inside one test transaction PostgreSQL would
# check 200,000 deferred foreign keys from 50 savepoints at teardown, which is very slow.
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(600)
def test_a_hundred_thousand_rows_import(staff_user):
    rows = "".join(f"person{n}@example.com,First{n},Last{n},plan{n % 3}\n" for n in range(100_000))
    content = ("email,first_name,last_name,plan\n" + rows).encode()
    newsletter = mailing_list()

    started = time.perf_counter()
    subscriber_import = imports.import_create(
        name="big.csv", content=content, mailing_list=newsletter, created_by=staff_user
    )
    imports.import_start(
        subscriber_import=subscriber_import,
        mapping={"email": "email", "first_name": "first_name", "last_name": "last_name"},
    )
    finished = imports.import_run(import_id=subscriber_import.pk)
    elapsed = time.perf_counter() - started

    print(f"\n100,000-row import: {elapsed:.1f} s ({100_000 / elapsed:,.0f} rows/s)")
    assert finished.status == "done"
    assert finished.created_count == 100_000
    assert Subscriber.objects.count() == 100_000
    assert newsletter.subscribers.count() == 100_000
    assert Subscriber.objects.get(email="person99999@example.com").attributes == {"plan": "plan0"}
