"""Console pages for configs and schemas, as each persona sees them."""

import json

import pytest
from django.urls import reverse

from configs.diff import sentences
from configs.models import Config, Version
from configs.selectors import versions_of
from configs.services import config_create
from reviews.models import ChangeRequest

DETAIL = "/configs/sales-ops/custom-metrics/"
EDIT = "/configs/sales-ops/custom-metrics/edit/"


def edit_post(client, url, value, title="Add a metric", confirmed=True, base_version=1):
    data = {"editor": "raw", "raw": json.dumps(value), "title": title, "base_version": base_version}
    if confirmed:
        data["confirmed"] = "1"
    return client.post(url, data)


def with_new_metric(config):
    value = versions_of(config).get(number=1).value
    return {
        "metrics": [
            *value["metrics"],
            {"name": "refund_rate", "kind": "count", "event": "refund_issued"},
        ]
    }


def test_anonymous_people_are_sent_to_log_in(client, demo):
    response = client.get(DETAIL)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_login_page_is_served(client, db):
    assert client.get("/accounts/login/").status_code == 200


@pytest.mark.parametrize("url", [DETAIL, EDIT, "/configs/sales-ops/no-such-config/"])
def test_a_person_outside_the_namespace_gets_404(client, erin, url):
    client.force_login(erin)
    assert client.get(url).status_code == 404


def test_config_list_shows_only_namespaces_the_person_may_see(client, erin, alice):
    client.force_login(erin)
    response = client.get("/configs/")
    assert "custom-metrics" not in response.content.decode()
    assert "Ask an admin to add you to a namespace" in response.content.decode()
    client.force_login(alice)
    page = client.get("/configs/").content.decode()
    for key in ["company-timezones", "warehouse-connections", "custom-metrics", "legacy-fields"]:
        assert key in page


def test_config_list_searches_key_name_and_description_and_filters_by_namespace(client, alice):
    client.force_login(alice)
    page = client.get("/configs/", {"q": "timezone"}).content.decode()
    assert "company-timezones" in page and "custom-metrics" not in page
    page = client.get("/configs/", {"q": "secret store"}).content.decode()  # description
    assert "warehouse-connections" in page and "company-timezones" not in page
    page = client.get("/configs/", {"namespace": "sales-ops"}).content.decode()
    assert "custom-metrics" in page and "company-timezones" not in page
    page = client.get("/configs/", {"q": "nothing-like-this"}).content.decode()
    assert "No config matches these filters" in page


@pytest.mark.parametrize(
    "typed",
    ["time zone", "time zones", "Time-Zones", "TIMEZONE", "company time zones", "zones company"],
)
def test_config_list_search_finds_words_regardless_of_spaces_and_case(client, alice, typed):
    client.force_login(alice)
    page = client.get("/configs/", {"q": typed}).content.decode()
    assert "company-timezones" in page and "custom-metrics" not in page


def test_config_list_search_finds_a_schema_title(client, alice):
    from configs.models import Schema

    Schema.objects.filter(name="custom-metrics").update(title="Revenue dashboards")
    client.force_login(alice)
    page = client.get("/configs/", {"q": "revenue dashboard"}).content.decode()
    assert "custom-metrics" in page and "company-timezones" not in page


def test_config_list_paginates_with_a_fixed_number_of_queries(
    client, alice, carol, django_assert_max_num_queries
):
    namespace = Config.objects.get(key="legacy-fields").namespace
    for n in range(30):
        config_create(
            namespace=namespace,
            key=f"extra-{n:02}",
            name=f"Extra {n}",
            value={"n": n},
            actor=carol,
            owners=[carol],
        )
    client.force_login(alice)
    with django_assert_max_num_queries(8):
        first = client.get("/configs/").content.decode()
    assert "Page 1 of 2 (34 in all)" in first
    assert "extra-21" in first and "extra-22" not in first
    second = client.get("/configs/", {"page": 2}).content.decode()
    assert "Page 2 of 2" in second
    assert "extra-22" in second and "legacy-fields" in second and "extra-21" not in second


def test_config_page_shows_the_live_value_owners_schema_and_permalink(client, dave):
    client.force_login(dave)
    page = client.get(DETAIL).content.decode()
    assert "checkout_revenue" in page
    assert "carol" in page  # owner
    assert "Custom metric definitions" in page  # schema title
    assert "http://testserver/configs/sales-ops/custom-metrics/" in page  # permalink
    assert "v1" in page


def test_a_viewer_is_not_offered_edit_and_cannot_edit(client, dave, metrics):
    client.force_login(dave)
    assert "Edit this config" not in client.get(DETAIL).content.decode()
    assert client.get(EDIT).status_code == 403
    assert edit_post(client, EDIT, with_new_metric(metrics)).status_code == 403
    assert versions_of(metrics).count() == 1


def test_an_editor_in_a_no_review_namespace_publishes_the_next_version_with_their_name(
    client, alice, metrics
):
    client.force_login(alice)
    response = edit_post(client, EDIT, with_new_metric(metrics))
    assert response.status_code == 302 and response.url == DETAIL
    version = versions_of(metrics).get(number=2)
    assert version.published_by == alice
    assert version.value["metrics"][-1]["name"] == "refund_rate"
    page = client.get(DETAIL).content.decode()
    assert "Published version 2" in page


def test_saving_first_shows_what_will_change_in_words_and_publishes_nothing(client, alice, metrics):
    client.force_login(alice)
    response = edit_post(client, EDIT, with_new_metric(metrics), confirmed=False)
    page = response.content.decode()
    assert "Metrics: added refund_rate" in page
    assert "Confirming publishes version 2 now, for every pipeline" in page
    assert versions_of(metrics).count() == 1


def test_an_editor_in_a_reviewed_namespace_opens_a_change_request(client, alice, timezones):
    client.force_login(alice)
    value = versions_of(timezones).get(number=1).value
    value["companies"][0]["timezone"] = "UTC"
    response = edit_post(
        client,
        "/configs/data-pipelines/company-timezones/edit/",
        value,
        title="Acme reports in UTC now",
    )
    change_request = ChangeRequest.objects.get()
    assert response.url == change_request.get_absolute_url()
    assert change_request.status == ChangeRequest.Status.IN_REVIEW
    assert versions_of(timezones).count() == 1


def test_invalid_input_is_explained_and_kept(client, alice, metrics):
    client.force_login(alice)
    value = with_new_metric(metrics)
    value["metrics"][-1]["kind"] = "median"
    response = edit_post(client, EDIT, value)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Please correct the 1 problem below." in page
    assert "Kind: choose one of the listed kinds." in page
    assert "/metrics/2/kind" in page  # the path, for engineers
    assert "median" in page  # what was typed is still there
    assert versions_of(metrics).count() == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"metrics": [}', "This is not valid JSON"),
        ('{"metrics": [], "metrics": []}', "appears twice"),
        ('{"metrics": [{"winsorize_percentile": NaN}]}', "NaN is not allowed"),
    ],
)
def test_raw_json_that_is_not_acceptable_is_refused_with_the_reason(
    client, alice, metrics, raw, message
):
    client.force_login(alice)
    response = client.post(
        EDIT, {"editor": "raw", "raw": raw, "title": "x", "base_version": 1, "confirmed": "1"}
    )
    assert message in response.content.decode()
    assert versions_of(metrics).count() == 1


def test_a_change_without_a_reason_is_refused(client, alice, metrics):
    client.force_login(alice)
    response = edit_post(client, EDIT, with_new_metric(metrics), title="")
    assert "This field is required." in response.content.decode()
    assert versions_of(metrics).count() == 1


def test_editing_an_outdated_version_is_refused_as_a_conflict(client, alice, metrics):
    client.force_login(alice)
    edit_post(client, EDIT, with_new_metric(metrics))
    stale = versions_of(metrics).get(number=1).value
    stale["metrics"][0]["kind"] = "mean"
    response = edit_post(client, EDIT, stale, base_version=1)
    assert "reload it and make your change on the newest version" in response.content.decode()
    assert versions_of(metrics).count() == 2


def test_free_form_configs_are_edited_as_raw_json(client, alice):
    client.force_login(alice)
    url = "/configs/sales-ops/legacy-fields/edit/"
    page = client.get(url).content.decode()
    assert "data-django-jsonform" not in page
    response = edit_post(client, url, {"anything": ["goes", 1, None]})
    assert response.status_code == 302
    assert Version.objects.get(config__key="legacy-fields", number=2).value == {
        "anything": ["goes", 1, None]
    }


def test_schema_page_lists_the_configs_using_it(client, dave):
    client.force_login(dave)
    page = client.get(reverse("configs:schema", args=["company-timezones"])).content.decode()
    assert "data-pipelines/company-timezones" in page
    assert "Edit this schema" not in page


def test_a_schema_change_that_breaks_a_live_value_names_the_config_and_path(client, carol):
    client.force_login(carol)
    url = reverse("configs:schema_edit", args=["company-timezones"])
    schema = Config.objects.get(key="company-timezones").schema
    body = json.loads(json.dumps(schema.body))
    body["properties"]["companies"]["items"]["properties"]["timezone"]["enum"] = ["UTC"]
    response = client.post(
        url,
        {"title": schema.title, "description": "", "reason": "Only UTC", "body": json.dumps(body)},
    )
    page = response.content.decode()
    assert "data-pipelines/company-timezones" in page
    assert "needs a fix" in page
    assert "/companies/0/timezone" in page
    assert "Submit for review" not in page
    schema.refresh_from_db()
    assert (
        len(schema.body["properties"]["companies"]["items"]["properties"]["timezone"]["enum"]) > 1
    )


def test_a_compatible_schema_change_is_proposed_for_review_not_saved(client, carol):
    client.force_login(carol)
    schema = Config.objects.get(key="company-timezones").schema
    body = json.loads(json.dumps(schema.body))
    body["properties"]["companies"]["items"]["properties"]["timezone"]["enum"].append(
        "Europe/Paris"
    )
    response = client.post(
        reverse("configs:schema_edit", args=["company-timezones"]),
        {
            "title": schema.title,
            "description": "",
            "reason": "Paris office",
            "body": json.dumps(body),
            "base_version": "1",
            "submit": "1",
        },
    )
    assert response.status_code == 302
    change = ChangeRequest.objects.get(changes__schema=schema)
    assert response["Location"] == change.get_absolute_url()
    assert (change.author, change.title, len(change.change_list)) == (carol, "Paris office", 0)
    schema.refresh_from_db()
    assert (
        "Europe/Paris"
        not in schema.body["properties"]["companies"]["items"]["properties"]["timezone"]["enum"]
    )


def test_only_admins_may_edit_schemas(client, bob):
    client.force_login(bob)
    assert client.get(reverse("configs:schema_edit", args=["company-timezones"])).status_code == 403


def test_the_schema_service_itself_refuses_non_admins(bob):
    from django.core.exceptions import PermissionDenied

    from configs.services import schema_update

    schema = Config.objects.get(key="company-timezones").schema
    with pytest.raises(PermissionDenied, match="Only admins of every namespace"):
        schema_update(schema=schema, body={"type": "object"}, actor=bob, reason="loosen")
    schema.refresh_from_db()
    assert schema.body["required"] == ["companies"]


LONG_DESCRIPTION = (
    "Share of checkouts refunded within thirty days, for the finance review and the "
    "quarterly board pack; ends with this sentence."
)


def with_a_long_metric(config):
    value = versions_of(config).get(number=1).value
    metric = {
        "name": "refund_rate",
        "description": LONG_DESCRIPTION,
        "kind": "ratio",
        "event": "refund_issued",
        "denominator_event": "checkout_completed",
    }
    return {"metrics": [*value["metrics"], metric]}


def test_a_long_added_item_is_described_whole_in_the_words_of_the_schema(metrics):
    value = with_a_long_metric(metrics)
    [line] = sentences(versions_of(metrics).get(number=1).value, value, metrics.schema.body)
    assert line == (
        f"Metrics: added refund_rate (Description: {LONG_DESCRIPTION}; Kind: ratio; "
        "Event name: refund_issued; Denominator event (ratio): checkout_completed)"
    )
    assert "…" not in line


def test_nested_fields_of_an_added_item_are_described_too():
    schema = {
        "type": "object",
        "properties": {
            "teams": {
                "type": "array",
                "title": "Teams",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "members": {"type": "array", "title": "Members"},
                        "lead": {
                            "type": "object",
                            "title": "Lead",
                            "properties": {"email": {"title": "Email"}},
                        },
                    },
                },
            }
        },
    }
    after = {
        "teams": [{"name": "data", "members": ["ann", "bo"], "lead": {"email": "ann@example.com"}}]
    }
    assert sentences({"teams": []}, after, schema) == [
        "Teams: added data (Members: ann, bo; Lead: (Email: ann@example.com))"
    ]


def test_the_preview_shows_a_long_added_item_whole(client, alice, metrics):
    client.force_login(alice)
    page = edit_post(client, EDIT, with_a_long_metric(metrics), confirmed=False).content.decode()
    assert "Description: " + LONG_DESCRIPTION in page
    assert "Denominator event (ratio): checkout_completed" in page


def test_the_preview_says_when_a_scheduled_version_takes_effect(client, alice, metrics):
    client.force_login(alice)
    data = {
        "editor": "raw",
        "raw": json.dumps(with_new_metric(metrics)),
        "title": "Add a metric",
        "base_version": 1,
        "effective_at": "2026-11-30 00:00",
    }
    page = client.post(EDIT, data).content.decode()
    assert "Confirming publishes version 2 on" in page
    assert "Mon 30 Nov 2026, 00:00 UTC</time>, for every pipeline" in page
    assert "version 2 now" not in page
    assert versions_of(metrics).count() == 1


def test_a_mistyped_take_effect_time_is_named_before_the_preview(client, alice, metrics):
    client.force_login(alice)
    data = {
        "editor": "raw",
        "raw": json.dumps(with_new_metric(metrics)),
        "title": "Add a metric",
        "base_version": 1,
        "effective_at": "next tuesday",
    }
    page = client.post(EDIT, data).content.decode()
    assert "Take effect at: enter a date and time in" in page
    assert "Confirming publishes" not in page


def test_rows_are_named_by_their_identifying_field_even_when_two_share_it():
    schema = {
        "type": "object",
        "properties": {
            "companies": {
                "title": "Companies",
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "company_id": {"type": "string"},
                        "region": {"type": "string", "title": "Region"},
                    },
                },
            }
        },
    }
    before = {"companies": [{"company_id": "acme"}, {"company_id": "acme"}, {}]}
    after = {
        "companies": [
            {"company_id": "acme", "region": "amer"},
            {"company_id": "acme", "region": "emea"},
            {"region": "apac"},
            {"company_id": "hooli", "region": "amer"},
        ]
    }

    assert sentences(before, after, schema) == [
        "Companies → acme → Region: set to amer",
        "Companies → acme → Region: set to emea",
        "Companies → item 3 → Region: set to apac",
        "Companies: added hooli (amer)",
    ]


def test_changes_are_told_in_the_schemas_order_whatever_order_the_value_keeps_its_keys():
    schema = {
        "type": "object",
        "properties": {
            "timezone": {"type": "string", "title": "Timezone"},
            "effective_from": {"type": "string", "title": "Switch over at"},
            "company_id": {"type": "string", "title": "Company ID"},
        },
    }
    before = {"company_id": "globex", "timezone": "Europe/Berlin"}
    as_typed = {"timezone": "Asia/Tokyo", "effective_from": "x", "company_id": "globex"}
    as_stored = {"company_id": "globex", "effective_from": "x", "timezone": "Asia/Tokyo"}

    assert (
        sentences(before, as_typed, schema)
        == sentences(before, as_stored, schema)
        == [
            "Timezone: Europe/Berlin → Asia/Tokyo",
            "Switch over at: set to x",
        ]
    )
