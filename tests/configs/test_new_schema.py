"""The "New schema" page: admins add a schema on its own, typed as JSON or started from an
example, checked and previewed as the form it makes before it is created."""

import html
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from configs.inference import infer_schema
from configs.models import Membership, Namespace, Role, Schema
from tests.api.conftest import client_for, make_token

NEW = "/schemas/new/"
HOLIDAYS = {
    "holidays": [{"date": "2026-12-25", "name": "Christmas", "country": "DE"}],
    "contact": "data@example.com",
}
BODY = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "enabled": {"type": "boolean", "title": "Switched on"},
        "limit": {"type": "integer", "title": "Daily limit"},
    },
    "required": ["enabled"],
}


def typed(**changes) -> dict:
    form = {
        "name": "feature-limits",
        "title": "Feature limits",
        "description": "How much each feature may be used per day.",
        "body": json.dumps(BODY, indent=2),
        "reason": "Limits move out of the code",
    }
    return {**form, **changes}


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def test_an_admin_checks_a_schema_then_creates_it_and_lands_on_its_page(client, carol):
    client.force_login(carol)

    checked = client.post(NEW, {**typed(), "check": "1"})

    page = text_of(checked)
    assert checked.status_code == 200
    assert "The form this schema makes" in page and "Switched on" in page
    assert 'value="Create schema"' in page
    assert not Schema.objects.filter(name="feature-limits").exists()

    created = client.post(NEW, {**typed(), "create": "1"}, follow=True)

    schema = Schema.objects.get(name="feature-limits")
    assert created.redirect_chain[-1][0] == schema.get_absolute_url()
    assert "Schema feature-limits was created as version 1." in text_of(created)
    assert (schema.title, schema.description) == (
        "Feature limits",
        "How much each feature may be used per day.",
    )
    assert schema.body == BODY
    version = schema.versions.get()
    assert (version.number, version.created_by, version.reason) == (
        1,
        carol,
        "Limits move out of the code",
    )


def test_the_body_keeps_the_order_its_author_wrote_its_properties_in(client, carol):
    client.force_login(carol)
    body = {"type": "object", "properties": {"zeta": {"type": "string"}, "a": {"type": "string"}}}

    client.post(NEW, {**typed(body=json.dumps(body)), "create": "1"})

    assert list(Schema.objects.get(name="feature-limits").body["properties"]) == ["zeta", "a"]


def test_creating_a_schema_writes_one_audit_event_with_the_reason(client, carol):
    client.force_login(carol)

    client.post(NEW, {**typed(), "create": "1"})

    schema = Schema.objects.get(name="feature-limits")
    event = AuditEvent.objects.get(target_type="configs.schema", target_id=str(schema.pk))
    assert (event.action, event.actor, event.reason) == (
        "schema.created",
        carol,
        "Limits move out of the code",
    )


def test_an_example_proposes_a_schema_in_the_body_box_to_edit_then_create(client, carol):
    client.force_login(carol)
    start = typed(name="holiday-calendar", title="Holiday calendar", body="")
    start["example"] = json.dumps(HOLIDAYS)

    proposed = client.post(NEW, {**start, "propose": "1"})

    page = text_of(proposed)
    inferred = infer_schema(HOLIDAYS, title="Holiday calendar")
    assert json.dumps(inferred, indent=2, ensure_ascii=False) in page
    assert "The form this schema makes" in page
    assert not Schema.objects.filter(name="holiday-calendar").exists()

    inferred["properties"]["contact"]["title"] = "Who to ask"
    created = client.post(NEW, {**start, "body": json.dumps(inferred), "create": "1"})

    assert created.status_code == 302
    schema = Schema.objects.get(name="holiday-calendar")
    assert schema.body["properties"]["contact"]["title"] == "Who to ask"
    assert schema.body["properties"]["holidays"]["items"]["properties"]["date"]["format"] == "date"


def test_proposing_without_an_example_asks_for_one_and_keeps_the_body_typed(client, carol):
    client.force_login(carol)

    page = client.post(NEW, {**typed(body='{"type": "obj'), "example": " ", "propose": "1"})

    assert "Paste an example value to propose a schema from." in text_of(page)
    assert '{"type": "obj' in text_of(page)


def test_an_example_that_is_not_json_names_the_line_and_column(client, carol):
    client.force_login(carol)

    page = client.post(NEW, {**typed(), "example": '{"a": 1,\n "b": }', "propose": "1"})

    assert "(line 2, column 7)" in text_of(page)
    assert not Schema.objects.filter(name="feature-limits").exists()


def test_a_taken_name_is_refused_naming_it_and_nothing_is_saved(client, carol):
    client.force_login(carol)
    before = (Schema.objects.count(), AuditEvent.objects.count())

    page = client.post(NEW, {**typed(name="company-timezones"), "create": "1"})

    assert page.status_code == 200
    assert "A schema named company-timezones already exists; pick another name." in text_of(page)
    assert (Schema.objects.count(), AuditEvent.objects.count()) == before
    assert 'value="Limits move out of the code"' in text_of(page)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Feature Limits", "Use lowercase letters, digits, '-' and '_'"),
        ("feature/limits", "Use lowercase letters, digits, '-' and '_'"),
        ("", "This field is required."),
        ("new", "The name new is kept for the console's own addresses; pick another."),
        ("infer", "The name infer is kept for the console's own addresses; pick another."),
    ],
)
def test_a_name_that_cannot_be_a_schemas_is_refused(client, carol, name, message):
    client.force_login(carol)

    page = client.post(NEW, {**typed(name=name), "create": "1"})

    assert page.status_code == 200
    assert message in text_of(page)
    assert not Schema.objects.filter(title="Feature limits").exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{\n  "type": "object",\n  "properties": {,}\n}', "(line 3, column 18)"),
        ('{"type": "object", "type": "array"}', "The key 'type' appears twice"),
        ('{"type": "nonsense"}', "'nonsense' is not valid under any of the given schemas"),
        ('["a list"]', "A schema must be a JSON object."),
        ('{"$ref": "https://example.com/s.json"}', "Only references inside the schema"),
        ("", "Type the JSON Schema, or propose one from an example above."),
    ],
)
def test_a_body_that_is_not_a_usable_schema_names_the_problem_and_keeps_what_was_typed(
    client, carol, body, message
):
    client.force_login(carol)

    for button in ("check", "create"):
        page = client.post(NEW, {**typed(body=body), button: "1"})

        text = text_of(page)
        assert message in text
        assert body in text
        assert 'value="feature-limits"' in text and 'value="Limits move out of the code"' in text
        assert "How much each feature may be used per day." in text
        assert 'value="Create schema"' not in text
    assert not Schema.objects.filter(name="feature-limits").exists()


def test_a_schema_that_makes_no_form_says_its_values_are_edited_as_json(client, carol):
    client.force_login(carol)

    page = client.post(NEW, {**typed(body='{"type": "string"}'), "check": "1"})

    assert "This schema makes no form" in text_of(page)


def test_admins_see_the_new_schema_button_and_others_do_not(client, carol, bob, alice, dave):
    for person, offered in [(carol, True), (bob, False), (alice, False), (dave, False)]:
        client.force_login(person)
        assert ('id="new-schema"' in client.get("/schemas/").content.decode()) is offered


@pytest.mark.parametrize("who", ["alice", "bob", "dave", "erin"])
def test_people_who_are_not_admins_get_403_and_create_nothing(client, request, who):
    person = request.getfixturevalue(who)
    client.force_login(person)

    shown = client.get(NEW)
    posted = client.post(NEW, {**typed(), "create": "1"})

    assert shown.status_code == posted.status_code == 403
    assert "Only namespace admins can add schemas." in text_of(posted)
    assert not Schema.objects.filter(name="feature-limits").exists()


def test_an_admin_of_one_namespace_may_add_schemas(client, erin):
    Membership.objects.create(
        namespace=Namespace.objects.get(slug="sales-ops"), user=erin, role=Role.ADMIN
    )
    client.force_login(erin)

    assert 'id="new-schema"' in client.get("/schemas/").content.decode()
    assert client.post(NEW, {**typed(), "create": "1"}).status_code == 302


def test_the_page_asks_the_database_as_often_however_many_schemas_there_are(client, carol):
    client.force_login(carol)

    def queries() -> int:
        client.get(NEW)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(NEW).status_code == 200
            assert client.post(NEW, {**typed(name="probe"), "check": "1"}).status_code == 200
        return len(captured)

    before = queries()
    for n in range(20):
        client.post(NEW, {**typed(name=f"grown-{n}"), "create": "1"})
    assert Schema.objects.filter(name__startswith="grown-").count() == 20

    assert queries() == before


@pytest.mark.parametrize(
    ("name", "schema", "status", "field"),
    [
        ("new", BODY, 400, "/name"),
        ("a-list", ["not", "a", "schema"], 400, "/schema"),
        ("company-timezones", BODY, 409, None),
    ],
)
def test_the_api_refuses_what_the_page_refuses(carol, name, schema, status, field):
    api = client_for(make_token(carol, "data-pipelines", write=True)[1])

    response = api.post("/api/v1/schemas/", {"name": name, "schema": schema}, format="json")

    assert response.status_code == status
    if field:
        assert [e["path"] for e in response.json()["errors"]] == [field]
