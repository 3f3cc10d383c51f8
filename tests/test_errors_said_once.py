"""One way from a domain error to words and a status: every domain error class is said in the
same words by the console and the API, with the status the class carries."""

import html
import pathlib
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

import common.jsontext
import common.keyset
import configs.api.evaluate
import configs.transfer
import reviews.kinds.schema
from common import errors
from common.messages import in_words, status_of
from reviews import services
from tests.api.conftest import client_for, make_token
from tests.values import with_company

pytestmark = pytest.mark.django_db

PROBLEMS = [{"path": "/companies/0/timezone", "message": "Timezone: required."}]

# One of each kind a service may raise; a new kind must be added here to be checked.
SAMPLES = {
    errors.InvalidValue: errors.InvalidValue(PROBLEMS),
    errors.ValueTooLarge: errors.ValueTooLarge(2_000_000, 1_000_000),
    errors.Conflict: errors.Conflict("The config moved on: reload it."),
    errors.RuleViolation: errors.RuleViolation("Two approvals are needed."),
    errors.SchemaInUse: errors.SchemaInUse({"data-pipelines/company-timezones v1": PROBLEMS}),
    errors.BadAddress: errors.BadAddress("The address contains a NUL character."),
    errors.DatabaseUnavailable: errors.DatabaseUnavailable("The database is not answering."),
    common.jsontext.BadJSON: common.jsontext.BadJSON("The key 'a' appears twice."),
    configs.transfer.TransferError: configs.transfer.TransferError("No namespace named x."),
    configs.transfer.BadFile: configs.transfer.BadFile(pathlib.Path("x.json"), "not JSON."),
    reviews.kinds.schema.InvalidValues: reviews.kinds.schema.InvalidValues(
        [{"config": "data-pipelines/company-timezones", **PROBLEMS[0]}]
    ),
    common.keyset.BadCursor: common.keyset.BadCursor(),
    configs.api.evaluate.ContextRefused: configs.api.evaluate.ContextRefused(
        "The context must be a JSON object.", "INVALID_CONTEXT"
    ),
    PermissionDenied: PermissionDenied("You need the reviewer role in data-pipelines."),
    ValidationError: ValidationError("A comment saying what to change is required."),
}


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def test_every_domain_error_class_is_in_the_table():
    assert set(_all_subclasses(errors.DomainError)) <= set(SAMPLES)


def test_every_domain_error_class_carries_a_status_and_words():
    for cls in _all_subclasses(errors.DomainError):
        sample = SAMPLES[cls]
        assert 400 <= sample.status < 600
        assert sample.for_people().strip()


@pytest.fixture
def opened(alice, timezones):
    return services.change_request_open(
        config=timezones,
        author=alice,
        value=with_company(timezones, "hooli"),
        title="Add hooli",
        base_version=1,
    )


@pytest.mark.parametrize("kind", list(SAMPLES), ids=lambda kind: kind.__name__)
def test_the_console_and_the_api_say_the_same_words(
    kind, opened, bob, client, monkeypatch, settings
):
    exc = SAMPLES[kind]

    def refuse(**kwargs):
        raise exc

    monkeypatch.setattr(services, "change_request_approve", refuse)
    words = in_words(exc)
    _token, secret = make_token(bob, "data-pipelines", write=True)

    answer = client_for(secret).post(
        f"/api/v1/change-requests/{opened.pk}/approve/", {}, format="json"
    )
    client.force_login(bob)
    page = client.post(f"/changes/{opened.pk}/approve/", {}, follow=True)

    assert answer.status_code == status_of(exc)
    assert answer.json()["detail"] == words
    assert words in html.unescape(page.content.decode())


def test_no_view_admin_or_command_puts_an_error_into_words_itself():
    root = pathlib.Path(__file__).resolve().parents[1]
    places = [
        path
        for path in root.glob("*/**/*.py")
        if path.parts[len(root.parts)] not in {"tests", "bench", "client", ".venv", "node_modules"}
        and re.search(r"views|admin|management/commands|watch", str(path.relative_to(root)))
    ]
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in places
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"str\(exc\)|exc\.messages\[0\]|\.join\(exc\.messages\)", line)
    ]
    assert places
    assert offenders == []
