"""Validation messages in words: the schema's own message, patterns described, rows named."""

import json

import pytest

from configs.models import Config
from configs.patterns import describe
from configs.selectors import newest_version
from configs.validation import validate_value, where_in_words

EDIT = "/configs/data-pipelines/company-timezones/edit/"


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("^[a-z0-9_-]{2,64}$", "use lowercase letters, digits, _ or -; 2–64 characters"),
        (
            "^[a-z][a-z0-9_]{1,63}$",
            "start with a lowercase letter, then lowercase letters, digits or _; "
            "2–64 characters in all",
        ),
        (
            "^vault://[a-z0-9/_-]+$",
            "start with “vault://”, then lowercase letters, digits, /, _ or -",
        ),
        ("^[A-Z]{3}$", "use capital letters; exactly 3 characters"),
    ],
)
def test_simple_patterns_are_described_in_words(pattern, words):
    assert describe(pattern) == words


@pytest.mark.parametrize("pattern", ["^(a+)+$", "abc", "^[^a]+$", "^(x|yz)$"])
def test_other_patterns_are_not_described(pattern):
    assert describe(pattern) is None


def field(**extra):
    return {"type": "object", "properties": {"code": {"type": "string", "title": "Code", **extra}}}


def test_a_pattern_error_never_shows_the_regular_expression():
    problems = validate_value({"code": "x"}, field(pattern="^(ab|cd)+$", examples=["abcd"]))

    assert problems == [
        {"path": "/code", "message": "Code: this is not in the expected form. For example: abcd."}
    ]


@pytest.mark.parametrize("key", ["x-message", "errorMessage"])
def test_a_schema_gives_a_property_its_own_message(key):
    schema = field(pattern="^[a-z]+$", **{key: "use the code from the price list"})

    problems = validate_value({"code": "X1"}, schema)

    assert problems[0]["message"] == "Code: use the code from the price list."


def test_an_error_message_per_keyword_as_ajv_errors_spells_it():
    schema = field(minLength=3, errorMessage={"minLength": "codes have three letters"})

    assert validate_value({"code": "x"}, schema)[0]["message"] == "Code: codes have three letters."


def test_a_row_is_named_by_its_identifying_field():
    config = Config.objects.get(key="company-timezones")
    value = {"companies": [{"company_id": "acme"}, {"company_id": "Globex Corp!"}, {}]}

    assert where_in_words(value, config.schema.body, "/companies/1/company_id") == (
        "Companies → Globex Corp!"
    )
    assert (
        where_in_words(value, config.schema.body, "/companies/2/timezone") == "Companies → item 3"
    )


@pytest.fixture(autouse=True)
def _demo(demo):
    return demo


def test_a_wrong_company_id_is_explained_in_words_under_its_row_and_kept(client, alice):
    client.force_login(alice)
    config = Config.objects.get(key="company-timezones")
    value = newest_version(config).value
    value["companies"].append({"company_id": "Globex Corp!", "timezone": "Asia/Tokyo"})

    response = client.post(
        EDIT,
        {
            "editor": "form",
            "value": json.dumps(value),
            "title": "Add Globex Corp",
            "base_version": newest_version(config).number,
        },
    )

    page = response.content.decode()
    summary = page.split('id="error-summary"')[1].split("</div>")[0]
    assert "Companies → Globex Corp!: Company ID: use the billing system&#x27;s ID" in summary
    assert '<code class="path"' in summary and "/companies/3/company_id" in summary
    assert "^[a-z0-9_-]" not in summary
    assert "Globex Corp!" in page.split('id="id_value"')[1]  # what was typed is kept
    assert 'value="Add Globex Corp"' in page
