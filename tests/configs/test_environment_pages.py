"""A config's page in each environment: its values side by side, the environment switcher, and
history, versions and editing scoped to the chosen environment."""

import json

import pytest
from django.db import transaction

from configs import environments
from configs.selectors import newest_version, versions_of
from configs.services import version_publish
from reviews.models import Change, ChangeRequest
from tests.values import with_company

TIMEZONES = "/configs/data-pipelines/company-timezones/"


def staging():
    return environments.named("staging")


def publish_in(config, env, value, actor, reason="Try initech first"):
    """Publish `value` as the next version of `config` in `env` (as the review gate would)."""
    newest = newest_version(config, env)
    with transaction.atomic():
        return version_publish(
            config=config,
            value=value,
            base_number=newest.number if newest else None,
            actor=actor,
            reason=reason,
            environment=env,
        )


@pytest.fixture
def staging_ahead(timezones):
    """Staging's company-timezones: the demo's version 2 there, one company (umbrella) more
    than production's."""
    version = newest_version(timezones, staging())
    assert version.number == 2 and "umbrella" in version.value_json
    return version


def test_the_config_page_shows_each_environment_side_by_side_with_what_differs(
    client, dave, timezones, staging_ahead
):
    client.force_login(dave)
    response = client.get(TIMEZONES)
    assert response.status_code == 200
    rows = {row.env.name: row for row in response.context["side_by_side"]}
    assert list(rows) == ["development", "staging", "production"]
    assert rows["staging"].live.number == 2
    assert rows["production"].live.number == 1
    # Development and staging started equal; staging went ahead; production is behind it.
    assert any("umbrella" in line for line in rows["staging"].differences)
    assert any("umbrella" in line for line in rows["production"].differences)
    page = response.content.decode()
    table = page.split('id="in-each-environment"', 1)[1].split("</section>", 1)[0]
    assert "Development" in table and "Staging" in table and "Production" in table
    assert "umbrella" in table
    assert f"by {staging_ahead.published_by}" in table


def test_an_environment_equal_to_the_one_before_says_so(client, dave, metrics):
    client.force_login(dave)
    page = client.get("/configs/sales-ops/custom-metrics/").content.decode()
    table = page.split('id="in-each-environment"', 1)[1].split("</section>", 1)[0]
    assert "Same as Development" in table
    assert "Same as Staging" in table


def test_switching_environment_shows_that_environments_history(
    client, dave, timezones, staging_ahead
):
    client.force_login(dave)
    response = client.get(TIMEZONES + "?environment=staging")
    assert response.status_code == 200
    assert response.context["live"].pk == staging_ahead.pk
    assert [v.number for v in response.context["versions"]] == [2, 1]
    page = response.content.decode()
    assert 'aria-current="page">Staging' in page
    assert "history/?environment=staging" in page

    history = client.get(TIMEZONES + "history/?environment=staging")
    assert [v.pk for v in history.context["page"].object_list] == list(
        versions_of(timezones, staging()).order_by("-number").values_list("pk", flat=True)
    )
    assert staging_ahead.reason in history.content.decode()
    production = client.get(TIMEZONES + "history/")
    assert staging_ahead.reason not in production.content.decode()
    assert [v.number for v in production.context["page"].object_list] == [1]


def test_version_and_compare_pages_read_the_chosen_environment(
    client, dave, timezones, staging_ahead
):
    client.force_login(dave)
    version = client.get(TIMEZONES + "versions/2/?environment=staging")
    assert version.status_code == 200
    assert "umbrella" in version.content.decode()
    assert client.get(TIMEZONES + "versions/2/").status_code == 404  # production has no v2
    compare = client.get(TIMEZONES + "compare/?environment=staging&from=1&to=2")
    assert compare.status_code == 200
    assert "umbrella" in compare.content.decode()
    assert "environment=staging" in compare.content.decode()


@pytest.mark.parametrize(
    "url",
    [TIMEZONES, TIMEZONES + "history/", TIMEZONES + "edit/", TIMEZONES + "versions/1/"],
)
def test_an_unknown_environment_is_a_page_not_found(client, alice, timezones, url):
    client.force_login(alice)
    assert client.get(url + "?environment=qa").status_code == 404


def test_editing_in_staging_proposes_a_change_in_staging_only(client, alice, timezones):
    client.force_login(alice)
    edit = client.get(TIMEZONES + "edit/?environment=staging")
    assert edit.status_code == 200
    assert "your change is for Staging only" in edit.content.decode()
    before = {env.id: newest_version(timezones, env).number for env in environments.every()}
    value = with_company(
        timezones, "initech", "Asia/Tokyo", base=newest_version(timezones, staging()).value
    )
    response = client.post(
        TIMEZONES + "edit/?environment=staging",
        {
            "editor": "raw",
            "raw": json.dumps(value),
            "title": "Try initech in staging",
            "base_version": before[staging().id],
            "confirmed": "1",
        },
    )
    assert response.status_code == 302
    change_request = ChangeRequest.objects.get(title="Try initech in staging")
    [change] = Change.objects.filter(change_request=change_request)
    assert change.environment_id == staging().id
    assert change.base_version.environment_id == staging().id
    # It is open on staging's page, not on production's.
    assert (
        change_request
        in client.get(TIMEZONES + "?environment=staging").context["open_changes"].object_list
    )
    assert change_request not in client.get(TIMEZONES).context["open_changes"].object_list
    # Nothing was published anywhere yet.
    assert {env.id: newest_version(timezones, env).number for env in environments.every()} == before


@pytest.mark.parametrize("path", ["", "?environment=staging", "history/?environment=staging"])
def test_config_pages_make_as_many_queries_with_more_environments(
    client, dave, timezones, django_user_model, path
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from configs.services import environment_add

    def counted() -> int:
        client.get(TIMEZONES + path)  # warm: sessions, the environments remembered
        with CaptureQueriesContext(connection) as captured:
            assert client.get(TIMEZONES + path).status_code == 200
        return len(captured)

    client.force_login(dave)
    before = counted()
    root = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    for name in ("qa", "uat", "perf"):
        environment_add(name=name, actor=root)
    assert counted() == before


def test_the_promote_part_is_shown_once(client, alice, timezones, staging_ahead):
    client.force_login(alice)
    page = client.get(TIMEZONES + "?environment=staging").content.decode()
    assert page.count('id="promote"') == 1
    assert page.count("Promote to production") == 1


def _review_line(page: str) -> str:
    return page.split('id="review-policy">', 1)[1].split("</dd>", 1)[0]


def test_the_review_line_is_the_viewed_environments_policy(client, dave, timezones):
    """data-pipelines needs one approval; its development policy (the demo's) none."""
    client.force_login(dave)

    production = client.get(TIMEZONES).content.decode()
    development = client.get(TIMEZONES, {"environment": "development"}).content.decode()

    assert _review_line(production) == "1 approval needed"
    assert _review_line(development) == "No approval needed"
    assert "Review in Development" in development
