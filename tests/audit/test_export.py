"""Exports of the filtered audit log: CSV and JSON Lines, streamed, newest first."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from audit import export
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def event(n, at, namespace="sales-ops", **fields):
    fields.setdefault("reason", f"comment {n}")
    return AuditEvent(
        at=at,
        actor_name="alice",
        action="change_request.commented",
        namespace=namespace,
        config="custom-metrics",
        target_type="reviews.changerequest",
        target_id=str(n),
        target_repr=f"#{n}",
        **fields,
    )


def lines(response):
    """The streamed body, decoded one chunk at a time."""
    assert response.streaming
    for chunk in response.streaming_content:
        yield chunk.decode()


def test_csv_export_is_an_attachment_with_a_header_and_only_what_the_filters_keep(client, dave):
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        [
            event(1, now - timedelta(minutes=2), details={"comment": "=HYPERLINK(1)"}),
            event(2, now - timedelta(minutes=1)),
            event(3, now, namespace="data-pipelines"),
        ]
    )
    client.force_login(dave)

    response = client.get("/audit/export.csv", {"namespace": "sales-ops", "actor": "alice"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    table = list(csv.DictReader(io.StringIO("".join(lines(response)))))
    assert [row["reason"] for row in table] == ["comment 2", "comment 1"]
    assert json.loads(table[1]["details"]) == {"comment": "=HYPERLINK(1)"}
    assert table[0]["actor"] == "alice" and table[0]["target"] == "#2"


def test_a_cell_a_spreadsheet_would_run_as_a_formula_stays_text(client, dave):
    AuditEvent.objects.bulk_create([event(1, timezone.now(), reason='=cmd|" /C calc"!A0')])
    client.force_login(dave)

    table = list(csv.DictReader(io.StringIO("".join(lines(client.get("/audit/export.csv"))))))

    assert table[0]["reason"] == '\'=cmd|" /C calc"!A0'


def test_jsonl_export_has_one_event_per_line_shaped_like_the_api(client, dave):
    AuditEvent.objects.bulk_create([event(7, timezone.now(), details={"version": 3})])
    client.force_login(dave)

    response = client.get("/audit/export.jsonl", {"config": "sales-ops/custom-metrics"})

    assert response["Content-Disposition"].endswith('.jsonl"')
    rows = [json.loads(line) for line in "".join(lines(response)).splitlines()]
    assert rows[0] == {
        "id": rows[0]["id"],
        "at": rows[0]["at"],
        "actor": "alice",
        "action": "change_request.commented",
        "namespace": "sales-ops",
        "config": "custom-metrics",
        "target": {"type": "reviews.changerequest", "id": "7", "repr": "#7"},
        "reason": "comment 7",
        "details": {"version": 3},
        "hash": "",
    }


def test_an_export_shows_nothing_of_namespaces_the_person_cannot_see(client, erin):
    AuditEvent.objects.bulk_create([event(1, timezone.now())])
    client.force_login(erin)

    assert "".join(lines(client.get("/audit/export.jsonl"))) == ""


def test_an_export_of_100k_events_streams_them_newest_first(client, demo):
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345678")
    start = timezone.now() - timedelta(days=30)
    total = 100_000
    AuditEvent.objects.bulk_create(
        (event(n, start + timedelta(seconds=n)) for n in range(total)), batch_size=5000
    )
    client.force_login(root)

    response = client.get("/audit/export.csv", {"action": "change_request.commented"})

    assert response.streaming
    expected, rows, chunks = total - 1, 0, 0
    header = None
    for chunk in response.streaming_content:  # sent in pieces of whole rows, newest first
        chunks += 1
        assert len(chunk) < 2 * export.SEND_SIZE, "the export is gathered, not streamed"
        for row in csv.reader(io.StringIO(chunk.decode())):
            if header is None:
                header = row
                continue
            assert row[7] == str(expected), "rows out of order"
            expected -= 1
            rows += 1
    assert header[:6] == ["id", "at", "actor", "action", "namespace", "config"]
    assert rows == total
    assert 1 < chunks < total / 100, f"{total} rows were sent in {chunks} pieces"
