"""The client reads proposals instead of live values for chosen configs, so code runs unchanged
against an open change request before it is approved."""

import copy
import json
import warnings

import pytest
from config_console_client import (
    ConfigClient,
    PreviewUnavailable,
    PreviewWarning,
)

from configs.models import Namespace
from configs.selectors import newest_version as newest
from configs.services import token_create
from reviews import services as review_services

pytestmark = pytest.mark.django_db(transaction=True)

TIMEZONES = "data-pipelines/company-timezones"


@pytest.fixture
def token(alice):
    namespaces = list(Namespace.objects.filter(slug__in=["data-pipelines", "sales-ops"]))
    _, secret = token_create(user=alice, name="pipeline", namespaces=namespaces, write=False)
    return secret


@pytest.fixture
def proposal(timezones, alice):
    """alice's open change request moving acme to UTC (in review: needs an approval)."""
    value = copy.deepcopy(newest(timezones).value)
    value["companies"][0]["timezone"] = "UTC"
    return review_services.change_request_open(
        config=timezones, author=alice, value=value, title="Acme in UTC", base_version=1
    )


@pytest.fixture
def make_client(live_server, token, tmp_path):
    def make(**kwargs):
        kwargs.setdefault("cache_dir", tmp_path / "cache")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PreviewWarning)
            return ConfigClient(live_server.url, token, **kwargs)

    return make


def daily_report_zones(configs: ConfigClient) -> dict[str, str]:
    """A small pipeline step: which timezone each company's daily report uses."""
    companies = configs.get("data-pipelines", "company-timezones")["companies"]
    return {company["company_id"]: company["timezone"] for company in companies}


def test_a_pipeline_runs_unchanged_against_a_proposal_through_the_environment(
    live_server, token, tmp_path, monkeypatch, proposal
):
    monkeypatch.setenv("CONFIG_CONSOLE_URL", live_server.url)
    monkeypatch.setenv("CONFIG_CONSOLE_TOKEN", token)
    live = daily_report_zones(ConfigClient(cache_dir=tmp_path))

    monkeypatch.setenv("CONFIG_CONSOLE_PREVIEW", f"{TIMEZONES}={proposal.pk}")
    with pytest.warns(PreviewWarning, match=f"{TIMEZONES} as change request #{proposal.pk}"):
        configs = ConfigClient(cache_dir=tmp_path)
    tried = daily_report_zones(configs)

    assert live["acme"] == "America/Los_Angeles"
    assert tried["acme"] == "UTC"
    assert {k: v for k, v in tried.items() if k != "acme"} == {
        k: v for k, v in live.items() if k != "acme"
    }


def test_previews_argument_reads_the_proposal_and_says_so(live_server, token, proposal, metrics):
    with pytest.warns(PreviewWarning, match="proposals, not published values"):
        configs = ConfigClient(live_server.url, token, previews={TIMEZONES: proposal.pk})

    document = configs.get_config("data-pipelines", "company-timezones")

    assert document["version"] is None
    assert document["value"] == proposal.value
    assert document["change_request"] == {
        "id": proposal.pk,
        "status": "in_review",
        "base_version": 1,
        "title": "Acme in UTC",
    }
    assert configs.get("sales-ops", "custom-metrics") == newest(metrics).value


def test_a_pinned_version_is_read_as_pinned_even_with_a_preview(make_client, proposal, timezones):
    configs = make_client(previews={TIMEZONES: proposal.pk})

    assert configs.get("data-pipelines", "company-timezones", version=1) == newest(timezones).value


def test_bundle_has_the_proposal_applied(make_client, proposal):
    configs = make_client(previews={TIMEZONES: proposal.pk})

    bundle = configs.get_bundle("data-pipelines")

    assert bundle["configs"]["company-timezones"]["value"] == proposal.value
    assert bundle["configs"]["company-timezones"]["change_request"]["id"] == proposal.pk
    assert configs.bundle("data-pipelines")["company-timezones"] == proposal.value


def test_previews_are_never_written_to_the_disk_copy(make_client, tmp_path, proposal):
    configs = make_client(previews={TIMEZONES: proposal.pk})

    configs.get("data-pipelines", "company-timezones")
    configs.get("data-pipelines", "company-timezones")
    configs.get_bundle("data-pipelines")

    stored = [json.loads(path.read_text()) for path in (tmp_path / "cache").glob("*.json")]
    assert [record["request"]["kind"] for record in stored] == ["bundle"]
    assert "change_request" not in json.dumps(stored)
    assert stored[0]["document"]["configs"]["company-timezones"]["value"] != proposal.value


def test_a_closed_proposal_is_an_error_not_the_live_value_or_default(make_client, proposal, alice):
    review_services.change_request_withdraw(change_request=proposal, actor=alice)
    configs = make_client(previews={TIMEZONES: proposal.pk})

    with pytest.raises(PreviewUnavailable, match=f"no open change request #{proposal.pk}"):
        configs.get("data-pipelines", "company-timezones", default={})


@pytest.mark.parametrize(
    "environment",
    ["data-pipelines/company-timezones", "data-pipelines/company-timezones=x", "nokey=3"],
)
def test_a_malformed_preview_variable_is_refused_naming_it(
    live_server, token, monkeypatch, environment
):
    monkeypatch.setenv("CONFIG_CONSOLE_PREVIEW", environment)

    with pytest.raises(ValueError, match="CONFIG_CONSOLE_PREVIEW|namespace/key"):
        ConfigClient(live_server.url, token)


def test_the_argument_wins_over_the_environment_for_the_same_config(
    live_server, token, monkeypatch, proposal
):
    monkeypatch.setenv("CONFIG_CONSOLE_PREVIEW", f"{TIMEZONES}=999, sales-ops/custom-metrics=5")

    with pytest.warns(PreviewWarning):
        configs = ConfigClient(live_server.url, token, previews={TIMEZONES: proposal.pk})

    assert configs.previews == {TIMEZONES: proposal.pk, "sales-ops/custom-metrics": 5}


def test_a_proposal_s_overrides_are_evaluated_in_a_preview(make_client, timezones, alice):
    value = newest(timezones).value
    special = copy.deepcopy(value)
    special["companies"][0]["timezone"] = "UTC"
    override = {
        "name": "globex",
        "when": [{"attribute": "company", "op": "in", "values": ["globex"]}],
        "value": special,
    }
    proposal = review_services.change_request_open(
        config=timezones,
        author=alice,
        value=value,
        overrides=[override],
        title="Globex sees Acme in UTC",
        base_version=1,
    )
    configs = make_client(previews={"data-pipelines/company-timezones": proposal.pk})

    globex = {"company": "globex"}
    assert configs.get("data-pipelines", "company-timezones", context=globex) == special
    assert configs.get("data-pipelines", "company-timezones", context={"company": "x"}) == value
    assert configs.bundle("data-pipelines", context=globex)["company-timezones"] == special
