"""`folder_import`, the service behind `manage.py import_configs`, called directly."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from configs.selectors import newest_version as newest
from reviews.imports import folder_import
from reviews.models import ChangeRequest

pytestmark = pytest.mark.django_db


def export(directory: Path) -> Path:
    call_command("export_configs", str(directory), stdout=StringIO())
    return directory


def drop_last_company(directory: Path) -> None:
    path = directory / "configs" / "data-pipelines" / "company-timezones.json"
    data = json.loads(path.read_text())
    data["value"]["companies"].pop()
    path.write_text(json.dumps(data))


def test_folder_import_proposes_a_changed_value_for_review_as_the_actor(tmp_path, timezones, alice):
    folder = export(tmp_path)
    drop_last_company(folder)

    report = folder_import(folder=folder, actor=alice, title="Back to two companies")

    assert report.errors == []
    assert report.count("proposed") == 1
    change_request = ChangeRequest.objects.get()
    assert change_request.author == alice
    assert change_request.title == "Back to two companies"
    assert change_request.status == ChangeRequest.Status.IN_REVIEW
    assert newest(timezones).number == 1


def test_folder_import_in_a_dry_run_saves_nothing(tmp_path, timezones, alice):
    folder = export(tmp_path)
    drop_last_company(folder)

    report = folder_import(folder=folder, actor=alice, dry_run=True)

    assert report.count("proposed") == 1
    assert not ChangeRequest.objects.exists()


def test_folder_import_names_a_refused_file_and_saves_nothing(tmp_path, timezones, dave):
    folder = export(tmp_path)
    drop_last_company(folder)

    report = folder_import(folder=folder, actor=dave)

    assert any(
        "company-timezones.json" in error and "editor role" in error for error in report.errors
    )
    assert not ChangeRequest.objects.exists()
