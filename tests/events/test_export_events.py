"""Exporting the events of a time range: `manage.py export_events` and /api/events/export/,
CSV (spreadsheet formulas neutralised) and JSON lines, from real rows in PostgreSQL."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from events.serializers import EVENT_FIELDS
from mailer.models import Campaign
from tests.events.factories import ingest
from tests.mailer import factories

pytestmark = pytest.mark.django_db

SINCE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
UNTIL = SINCE + timedelta(hours=1)
RANGE = ["--since", SINCE.isoformat(), "--until", UNTIL.isoformat()]


@pytest.fixture
def events() -> dict:
    """Events just outside and inside [SINCE, UNTIL), by name."""
    news = Campaign.objects.create(name="News", subject="s", html_content="h")

    def at(moment: datetime, provider: str = "mandrill", **fields):
        [event] = ingest(provider, timestamp=moment, **fields)
        return event

    return {
        "before": at(SINCE - timedelta(microseconds=1)),
        "first": at(SINCE, types=["opened"], metadata={"campaign_id": str(news.pk)}),
        "formula": at(
            SINCE + timedelta(minutes=5),
            "mailgun",
            description='=HYPERLINK("http://evil.example","x")',
            tags=["=cmd|' /C calc'!A0"],
        ),
        "last": at(UNTIL - timedelta(microseconds=1), types=["bounced"], mta_response="@SUM(1)"),
        "at_until": at(UNTIL),
        "campaign": news,
    }


def export(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_events", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_csv_file_holds_the_range_oldest_first_with_formulas_neutralised(events, tmp_path):
    target = tmp_path / "events.csv"
    _, report = export(*RANGE, "--format", "csv", "--output", str(target))

    header, *rows = list(csv.reader(target.open(newline="")))
    assert header == list(EVENT_FIELDS)
    by_id = {int(row[0]): dict(zip(header, row, strict=True)) for row in rows}
    assert list(by_id) == [events[name].pk for name in ("first", "formula", "last")]
    assert "Exported 3 events to" in report
    formula = by_id[events["formula"].pk]
    assert formula["description"] == '\'=HYPERLINK("http://evil.example","x")'
    assert json.loads(formula["tags"]) == ["=cmd|' /C calc'!A0"]
    assert by_id[events["last"].pk]["mta_response"] == "'@SUM(1)"
    assert by_id[events["first"].pk]["campaign"] == str(events["campaign"].pk)
    assert by_id[events["first"].pk]["timestamp"] == "2026-03-01T12:00:00Z"


def test_jsonl_to_standard_output_with_filters(events):
    everything, _ = export(*RANGE, "--format", "jsonl")
    mandrill, _ = export(*RANGE, "--format", "jsonl", "--provider", "mandrill")
    bounced, _ = export(*RANGE, "--format", "jsonl", "--type", "bounced", "--type", "opened")
    of_campaign, _ = export(*RANGE, "--format", "jsonl", "--campaign", str(events["campaign"].pk))

    def ids(text: str) -> list[int]:
        return [json.loads(line)["id"] for line in text.splitlines()]

    assert ids(everything) == [events[n].pk for n in ("first", "formula", "last")]
    assert json.loads(everything.splitlines()[1])["tags"] == ["=cmd|' /C calc'!A0"]
    assert "raw" not in json.loads(everything.splitlines()[0])
    assert ids(mandrill) == [events["first"].pk, events["last"].pk]
    assert ids(bounced) == [events["first"].pk, events["last"].pk]
    assert ids(of_campaign) == [events["first"].pk]


def test_command_refuses_a_range_that_ends_before_it_starts_and_bad_values(events):
    with pytest.raises(CommandError, match="--until: Must be after since"):
        export("--since", UNTIL.isoformat(), "--until", SINCE.isoformat(), "--format", "csv")
    with pytest.raises(CommandError, match="--since: Datetime has wrong format"):
        export("--since", "yesterday", "--format", "csv")
    with pytest.raises(CommandError, match="--provider"):
        export(*RANGE, "--format", "csv", "--provider", "nosuch")


def query(**params) -> dict:
    return {"since": SINCE.isoformat(), "until": UNTIL.isoformat(), **params}


def test_api_streams_csv_and_jsonl_to_staff(events, staff_user):
    staff = factories.client_for(staff_user)

    as_csv = staff.get("/api/events/export/", query(format="csv"))
    as_jsonl = staff.get("/api/events/export/", query(format="jsonl", provider="mailgun"))

    assert as_csv.status_code == 200 and as_csv.streaming
    assert as_csv["Content-Type"] == "text/csv"
    assert as_csv["Content-Disposition"] == (
        'attachment; filename="events-20260301T120000Z-20260301T130000Z.csv"'
    )
    rows = list(csv.reader(io.StringIO(b"".join(as_csv.streaming_content).decode())))
    assert [int(row[0]) for row in rows[1:]] == [events[n].pk for n in ("first", "formula", "last")]
    assert rows[2][EVENT_FIELDS.index("description")].startswith("'=HYPERLINK")
    assert as_jsonl["Content-Type"] == "application/x-ndjson"
    lines = b"".join(as_jsonl.streaming_content).decode().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [events["formula"].pk]


def test_api_answers_400_for_a_bad_format_or_range_and_403_to_viewers(
    events, staff_user, api_client
):
    staff = factories.client_for(staff_user)

    bad_format = staff.get("/api/events/export/", query(format="xlsx"))
    backwards = staff.get("/api/events/export/", query(format="csv", until=SINCE.isoformat()))
    no_since = staff.get("/api/events/export/", {"format": "csv"})

    assert bad_format.status_code == 400
    assert bad_format.json()["error"] == "invalid"
    assert "format" in bad_format.json()["fields"]
    assert backwards.status_code == 400
    assert backwards.json()["fields"] == {"until": ["Must be after since."]}
    assert no_since.status_code == 400 and "since" in no_since.json()["fields"]
    assert api_client.get("/api/events/export/", query(format="csv")).status_code == 403
    assert APIClient().get("/api/events/export/", query(format="csv")).status_code == 401


def test_export_is_in_the_api_schema(staff_user):
    schema = factories.client_for(staff_user).get("/api/schema/", {"format": "json"})
    operation = schema.json()["paths"]["/api/events/export/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["format"]["required"] and parameters["since"]["required"]
    assert {"text/csv", "application/x-ndjson"} <= set(operation["responses"]["200"]["content"])
