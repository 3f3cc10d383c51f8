"""People see a schema's fields in the order its author wrote them, on SQLite and PostgreSQL.

PostgreSQL's jsonb keeps an object's keys shortest first ("timezone" before "company_id"), so
every schema below is written in an order jsonb would change, at every depth."""

import html
import json
import re

from django.urls import reverse

from configs import environments, services
from configs.models import Namespace
from reviews import services as review_services
from tests.api.conftest import client_for, make_token
from tests.values import in_every_environment

# jsonb would order the properties billing, timezone, company_id, and billing's own vat,
# currency, invoice_email; and the keywords type, title, $schema, required, properties.
SETTINGS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Company settings",
    "type": "object",
    "properties": {
        "company_id": {"type": "string", "title": "Company ID"},
        "timezone": {"type": "string", "title": "Timezone"},
        "billing": {
            "type": "object",
            "title": "Billing",
            "properties": {
                "invoice_email": {"type": "string", "title": "Invoice email"},
                "currency": {"type": "string", "title": "Currency"},
                "vat": {"type": "string", "title": "VAT number"},
            },
        },
    },
    "required": ["company_id", "timezone"],
}
BILLING_TITLES = ["Invoice email", "Currency", "VAT number"]
SETTINGS_VALUE = {"company_id": "acme", "timezone": "UTC", "billing": {"currency": "EUR"}}


def as_written(value) -> str:
    """The JSON text with its keys in the order they come: equal only if the order is."""
    return json.dumps(value)


def form_schemas(page: str) -> list[dict]:
    """The schema each form on the page draws its fields from, in the order it draws them."""
    configs = re.findall(r'data-django-jsonform="([^"]*)"', page)
    return [json.loads(html.unescape(config))["schema"] for config in configs]


def shown_body(page: str, name: str = "body") -> str:
    """The JSON in the page's text box `name`, as a person sees it."""
    box = re.search(rf'<textarea name="{name}"[^>]*>\n?(.*?)</textarea>', page, re.S)
    return html.unescape(box[1])


def field_titles(schema: dict) -> list[str]:
    return [field["title"] for field in schema["properties"].values()]


def settings_config(carol):
    schema = services.schema_create(name="company-settings", body=SETTINGS_SCHEMA, actor=carol)
    return services.config_create(
        namespace=Namespace.objects.get(slug="sales-ops"),
        key="company-settings",
        name="Company settings",
        value=SETTINGS_VALUE,
        actor=carol,
        schema=schema,
    )


def test_the_edit_form_shows_the_demo_timezones_fields_in_the_authors_order(
    client, alice, timezones
):
    client.force_login(alice)

    page = client.get("/configs/data-pipelines/company-timezones/edit/").content.decode()

    # The value's form, and the same form again for the values of overrides.
    schema, for_overrides = form_schemas(page)
    assert for_overrides == schema
    company = schema["properties"]["companies"]["items"]
    assert field_titles(company) == ["Company ID", "Timezone", "Switch over at"]


def test_the_edit_form_shows_fields_and_nested_fields_in_the_authors_order(client, carol):
    settings_config(carol)
    client.force_login(carol)

    page = client.get("/configs/sales-ops/company-settings/edit/").content.decode()

    schema, for_overrides = form_schemas(page)
    assert for_overrides == schema
    assert field_titles(schema) == ["Company ID", "Timezone", "Billing"]
    assert field_titles(schema["properties"]["billing"]) == BILLING_TITLES


def test_the_new_config_form_from_an_existing_schema_shows_the_authors_order(client, carol):
    services.schema_create(name="company-settings", body=SETTINGS_SCHEMA, actor=carol)
    client.force_login(carol)

    page = client.post(
        "/configs/new/",
        {
            "namespace": "sales-ops",
            "key": "acme-settings",
            "name": "Acme settings",
            "schema_choice": "existing",
            "schema": "company-settings",
            "refresh": "1",
        },
    ).content.decode()

    (schema,) = form_schemas(page)
    assert field_titles(schema) == ["Company ID", "Timezone", "Billing"]


def test_a_config_started_from_an_example_keeps_the_examples_order_in_its_form(client, carol):
    client.force_login(carol)
    form = {
        "namespace": "sales-ops",
        "key": "acme-settings",
        "name": "Acme settings",
        "schema_choice": "example",
        "example": json.dumps(SETTINGS_VALUE),
        "title": "Settings for Acme",
    }
    proposed = client.post("/configs/new/", {**form, "propose": "1"}).content.decode()
    (preview,) = form_schemas(proposed)
    assert field_titles(preview) == ["Company ID", "Timezone", "Billing"]

    created = client.post(
        "/configs/new/",
        {
            **form,
            "schema_body": shown_body(proposed, "schema_body"),
            "editor": "raw",
            "raw": json.dumps(SETTINGS_VALUE),
            "create": "1",
        },
    )
    assert created.status_code == 302

    page = client.get("/configs/sales-ops/acme-settings/edit/").content.decode()
    schema, for_overrides = form_schemas(page)
    assert for_overrides == schema
    assert field_titles(schema) == ["Company ID", "Timezone", "Billing"]


def test_the_schema_api_reads_the_schema_as_its_author_wrote_it(carol):
    _token, secret = make_token(carol, "sales-ops", write=True)
    api = client_for(secret)
    created = api.post(
        "/api/v1/schemas/", {"name": "company-settings", "schema": SETTINGS_SCHEMA}, format="json"
    )
    assert created.status_code == 201

    newest = api.get("/api/v1/schemas/company-settings/")
    pinned = api.get("/api/v1/schemas/company-settings/", {"version": 1})

    assert as_written(json.loads(newest.content)["schema"]) == as_written(SETTINGS_SCHEMA)
    assert as_written(json.loads(pinned.content)["schema"]) == as_written(SETTINGS_SCHEMA)


def test_the_schema_page_and_its_edit_page_show_the_json_as_written(client, carol):
    services.schema_create(name="company-settings", body=SETTINGS_SCHEMA, actor=carol)
    client.force_login(carol)
    written = json.dumps(SETTINGS_SCHEMA, indent=2)

    shown = client.get("/schemas/company-settings/").content.decode()
    editable = client.get("/schemas/company-settings/edit/").content.decode()

    assert html.escape(written) in shown
    assert html.escape(written) in editable


def test_changing_a_schema_starts_from_its_text_and_previews_forms_in_the_authors_order(
    client, carol
):
    settings_config(carol)
    client.force_login(carol)
    page = client.get("/schemas/company-settings/edit/").content.decode()
    assert shown_body(page) == json.dumps(SETTINGS_SCHEMA, indent=2)

    # Carol adds a required country at the end, which the config's value lacks.
    body = json.loads(shown_body(page))
    body["properties"]["country"] = {"type": "string", "title": "Country"}
    body["required"].append("country")
    checked = client.post(
        "/schemas/company-settings/edit/",
        {
            "body": json.dumps(body, indent=2),
            "reason": "Every company has a country",
            "base_version": "1",
            "check": "Check and preview",
        },
    ).content.decode()

    *fix_forms, preview = form_schemas(checked)  # the config's form in each environment
    assert len(fix_forms) == len(environments.every())
    for schema in (*fix_forms, preview):
        assert field_titles(schema) == ["Company ID", "Timezone", "Billing", "Country"]
        assert field_titles(schema["properties"]["billing"]) == BILLING_TITLES


def test_a_schema_change_and_its_edit_page_show_the_proposed_schema_as_written(client, carol):
    config = settings_config(carol)
    body = json.loads(json.dumps(SETTINGS_SCHEMA))
    body["properties"]["billing"]["required"] = ["vat"]
    change = review_services.schema_change_open(
        schema=config.schema,
        author=carol,
        body=body,
        base_version=1,
        title="Every company has a VAT number",
        values=in_every_environment(
            "sales-ops/company-settings", {**SETTINGS_VALUE, "billing": {"vat": "DE1"}}
        ),
    )
    client.force_login(carol)

    page = client.get(change.get_absolute_url()).content.decode()
    editable = client.get(reverse("reviews:edit", args=[change.pk])).content.decode()

    assert html.escape(json.dumps(body, indent=2)) in page
    assert shown_body(editable) == json.dumps(body, indent=2)
