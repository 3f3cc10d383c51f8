"""Input that used to crash the server gets a clear 400 naming what is wrong."""

import json

import pytest
from django.core.exceptions import ValidationError

from configs.models import Schema
from configs.selectors import newest_version as newest
from configs.services import schema_update
from configs.validation import InvalidSchema, check_schema
from reviews import services
from reviews.models import ChangeRequest
from tests.api.conftest import client_for, make_token
from tests.values import with_company

pytestmark = pytest.mark.django_db

PROPOSE = "/api/v1/configs/data-pipelines/company-timezones/change-requests/"
ENVELOPE = '{"value": %s, "base_version": 1, "title": "t"}'
EDIT = "/configs/data-pipelines/company-timezones/edit/"


@pytest.fixture
def alice_writes(alice, timezones):
    _token, secret = make_token(alice, "data-pipelines", write=True)
    return client_for(secret)


def propose_raw(api, value_text: str):
    return api.generic(
        "POST", PROPOSE, (ENVELOPE % value_text).encode(), content_type="application/json"
    )


def test_an_integer_over_4300_digits_is_a_clear_400(alice_writes):
    response = propose_raw(
        alice_writes, '{"companies": [{"company_id": %s, "timezone": "UTC"}]}' % ("9" * 5000)
    )

    assert response.status_code == 400
    assert "5000 digits" in response.json()["detail"]
    assert not ChangeRequest.objects.exists()


LONG_FLOAT = "1." + "1" * 5000
WITH_X = '{"companies": [{"company_id": "a", "timezone": "UTC", "x": X}]}'


@pytest.mark.parametrize(
    ("number", "stored_as"),
    [
        (LONG_FLOAT, "1.1111111111111112"),
        ("0.1234567890123456789", "0.12345678901234568"),
        ("9007199254740993.0", "9007199254740992.0"),
        ("1e-400", "0.0"),
    ],
)
def test_a_float_that_cannot_be_kept_exactly_is_a_400_naming_its_path(
    alice_writes, number, stored_as
):
    response = propose_raw(alice_writes, WITH_X.replace("X", number))

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "/value/companies/0/x" in detail
    assert f"stored as {stored_as}" in detail
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize("number", ["1.1", "1.10", "0.30000000000000004", "1e2", "5e-324", "-0.0"])
def test_floats_a_double_keeps_exactly_are_accepted_as_json(number):
    from common.jsontext import parse_json

    assert parse_json(number) == float(number)


def test_a_float_that_cannot_be_kept_exactly_typed_in_the_console_is_named_under_the_form(
    client, alice, timezones
):
    client.force_login(alice)

    response = client.post(
        EDIT,
        {
            "editor": "raw",
            "raw": WITH_X.replace("X", LONG_FLOAT),
            "title": "Long float",
            "base_version": 1,
            "confirmed": "1",
        },
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "At /companies/0/x: the number" in page
    assert "cannot be kept exactly" in page
    assert not ChangeRequest.objects.exists()


def test_a_float_that_cannot_be_kept_exactly_sent_by_the_console_form_is_named_under_it(
    client, alice, timezones
):
    client.force_login(alice)

    response = client.post(
        EDIT,
        {
            "editor": "form",
            "value": WITH_X.replace("X", LONG_FLOAT),
            "title": "Long float",
            "base_version": 1,
            "confirmed": "1",
        },
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "At /companies/0/x: the number" in page
    assert "cannot be kept exactly" in page
    assert not ChangeRequest.objects.exists()


def test_a_lone_surrogate_is_a_clear_400(alice_writes):
    response = propose_raw(
        alice_writes, '{"companies": [{"company_id": "a\\ud800", "timezone": "UTC"}]}'
    )

    assert response.status_code == 400
    assert "lone surrogate" in response.json()["detail"]
    assert not ChangeRequest.objects.exists()


def test_a_lone_surrogate_typed_in_the_console_is_named_under_the_form(client, alice, timezones):
    client.force_login(alice)

    response = client.post(
        EDIT,
        {
            "editor": "raw",
            "raw": '{"companies": [{"company_id": "a\\ud800", "timezone": "UTC"}]}',
            "title": "Surrogate",
            "base_version": 1,
            "confirmed": "1",
        },
    )

    assert response.status_code == 200
    assert "lone surrogate" in response.content.decode()
    assert not ChangeRequest.objects.exists()


CYCLE = {
    "type": "object",
    "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}},
    "properties": {"companies": {"$ref": "#/$defs/a"}},
}


def test_a_schema_whose_refs_form_a_cycle_is_refused_with_the_path_of_the_cycle():
    with pytest.raises(InvalidSchema, match="#/\\$defs/a → #/\\$defs/b → .* → #/\\$defs/a"):
        check_schema(CYCLE)


def test_a_recursive_schema_that_moves_into_the_value_is_fine():
    check_schema(
        {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#"}}}}
    )


def test_saving_a_schema_whose_refs_form_a_cycle_is_refused(timezones, carol):
    schema = timezones.schema
    before = schema.body

    with pytest.raises(ValidationError, match="go round in a circle"):
        schema_update(schema=schema, body=CYCLE, actor=carol, reason="loop")
    assert Schema.objects.get(pk=schema.pk).body == before


def test_saving_a_schema_whose_refs_form_a_cycle_in_the_console_says_where(
    client, timezones, carol
):
    client.force_login(carol)
    schema = timezones.schema

    response = client.post(
        f"/schemas/{schema.name}/edit/",
        {
            "title": schema.title,
            "description": schema.description,
            "body": json.dumps(CYCLE),
            "reason": "loop",
        },
    )

    assert response.status_code == 200
    assert "go round in a circle" in response.content.decode()
    assert Schema.objects.get(pk=schema.pk).body != CYCLE


def test_a_title_with_a_line_break_is_refused(timezones, alice):
    with pytest.raises(ValidationError, match="one line"):
        services.change_request_open(
            config=timezones,
            author=alice,
            value=with_company(timezones, "hooli"),
            title="Add hooli\nBcc: everyone@example.com",
            base_version=newest(timezones).number,
        )
    assert not ChangeRequest.objects.exists()


def test_a_title_with_a_line_break_is_a_clear_400(alice_writes, timezones):
    response = alice_writes.post(
        PROPOSE,
        {
            "value": with_company(timezones, "hooli"),
            "base_version": 1,
            "title": "Add hooli\r\nBcc: everyone@example.com",
        },
        format="json",
    )

    assert response.status_code == 400
    assert "one line" in response.json()["detail"]
    assert not ChangeRequest.objects.exists()
