"""Local overrides: code that reads configs runs in tests and notebooks without a server."""

import json

import pytest
from config_console_client import ConfigClient, ConfigNotFound, MissingOverride

TIMEZONES = "/api/v1/configs/data-pipelines/company-timezones/"
SERVER_VALUE = {"companies": [{"company_id": "acme", "timezone": "Europe/Paris"}]}
LOCAL_VALUE = {"companies": [{"company_id": "test", "timezone": "UTC"}]}


@pytest.fixture
def timezones(stub):
    stub.publish("data-pipelines", "company-timezones", SERVER_VALUE, version=3)


def test_override_wins_over_the_server_and_makes_no_request(stub, make_client, timezones):
    client = make_client()

    with client.override({"data-pipelines/company-timezones": LOCAL_VALUE}):
        assert client.get("data-pipelines", "company-timezones") == LOCAL_VALUE

    assert stub.requests == []
    assert client.stats.overridden == 1


def test_override_wins_over_a_cached_value_and_ends_with_its_block(stub, make_client, timezones):
    client = make_client()
    client.get("data-pipelines", "company-timezones")

    with client.override("data-pipelines", "company-timezones", LOCAL_VALUE):
        assert client.get("data-pipelines", "company-timezones") == LOCAL_VALUE

    assert client.get("data-pipelines", "company-timezones") == SERVER_VALUE


def test_nested_overrides_innermost_wins(make_client):
    client = make_client()

    with client.override({"data-pipelines/company-timezones": "outer", "data-pipelines/a": 1}):
        with client.override("data-pipelines", "company-timezones", "inner"):
            assert client.get("data-pipelines", "company-timezones") == "inner"
            assert client.get("data-pipelines", "a") == 1
        assert client.get("data-pipelines", "company-timezones") == "outer"


def test_override_works_as_a_decorator(stub, make_client):
    client = make_client()

    @client.override({"data-pipelines/company-timezones": LOCAL_VALUE})
    def report():
        return client.get("data-pipelines", "company-timezones")

    assert report() == LOCAL_VALUE
    assert stub.requests == []


def test_override_covers_every_version_and_instant(make_client):
    client = make_client()

    with client.override("data-pipelines", "company-timezones", LOCAL_VALUE):
        document = client.get_config("data-pipelines", "company-timezones", version=1)
        at = client.get("data-pipelines", "company-timezones", at="2020-01-01T00:00:00Z")

    assert document["value"] == LOCAL_VALUE
    assert document["overridden"] is True and document["version"] is None
    assert at == LOCAL_VALUE


def test_overridden_value_cannot_be_changed_by_the_reader(make_client):
    client = make_client()

    with client.override("data-pipelines", "company-timezones", LOCAL_VALUE):
        client.get("data-pipelines", "company-timezones")["companies"].clear()
        assert client.get("data-pipelines", "company-timezones") == LOCAL_VALUE


def test_bundle_merges_overrides_over_the_server(stub, make_client):
    stub.publish_bundle("data-pipelines", {"company-timezones": SERVER_VALUE, "retention": 30})
    client = make_client()

    with client.override({"data-pipelines/company-timezones": LOCAL_VALUE, "sales-ops/x": 1}):
        assert client.bundle("data-pipelines") == {
            "company-timezones": LOCAL_VALUE,
            "retention": 30,
        }


def test_overrides_file_wins_over_the_server(stub, make_client, timezones, tmp_path):
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"data-pipelines/company-timezones": LOCAL_VALUE}))

    client = make_client(overrides_file=path)

    assert client.get("data-pipelines", "company-timezones") == LOCAL_VALUE
    assert stub.requests == []


def test_overrides_file_from_the_environment(stub, make_client, timezones, tmp_path, monkeypatch):
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"data-pipelines/company-timezones": LOCAL_VALUE}))
    monkeypatch.setenv("CONFIG_CONSOLE_OVERRIDES", str(path))

    assert make_client().get("data-pipelines", "company-timezones") == LOCAL_VALUE


def test_context_override_wins_over_the_file(make_client, tmp_path):
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"data-pipelines/company-timezones": "from the file"}))
    client = make_client(overrides_file=path)

    with client.override("data-pipelines", "company-timezones", "from the test"):
        assert client.get("data-pipelines", "company-timezones") == "from the test"


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "must hold an object"),
        ('{"no-slash": 1}', "'namespace/key'"),
    ],
)
def test_bad_overrides_file_is_refused_at_once(tmp_path, content, message):
    path = tmp_path / "overrides.json"
    path.write_text(content)

    with pytest.raises(ValueError, match=message):
        ConfigClient.offline(overrides_file=path)


# --- offline ---------------------------------------------------------------------------------


def test_offline_client_answers_from_overrides():
    client = ConfigClient.offline({"data-pipelines/company-timezones": LOCAL_VALUE})

    assert client.get("data-pipelines", "company-timezones") == LOCAL_VALUE
    assert client.bundle("data-pipelines") == {"company-timezones": LOCAL_VALUE}
    assert client.stats.requests == 0


def test_offline_client_without_an_override_says_so():
    client = ConfigClient.offline()

    with pytest.raises(MissingOverride, match="offline .* no override for it"):
        client.get("data-pipelines", "company-timezones")
    with pytest.raises(MissingOverride, match="no overrides in namespace data-pipelines"):
        client.bundle("data-pipelines")


def test_offline_missing_override_is_a_config_not_found_with_a_default():
    client = ConfigClient.offline()

    assert client.get("data-pipelines", "company-timezones", default="UTC") == "UTC"
    with pytest.raises(ConfigNotFound):
        client.get("data-pipelines", "company-timezones")


def test_client_without_url_is_offline():
    assert ConfigClient().is_offline
