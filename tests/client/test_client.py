"""The client's cache, revalidation and last-known-good rules, against a stub server."""

import json
import threading
import time
import warnings
from datetime import UTC, datetime

import pytest
from config_console_client import (
    AuthenticationError,
    ConfigClient,
    ConfigConsoleError,
    ConfigNotFound,
    ServerUnreachable,
    ServerUnreachableWarning,
)

from tests.client.stub import TOKEN

TIMEZONES = "/api/v1/configs/data-pipelines/company-timezones/"
BUNDLE = "/api/v1/namespaces/data-pipelines/bundle/"
VALUE = {"companies": [{"company_id": "acme", "timezone": "Europe/Paris"}]}
NEW_VALUE = {"companies": [{"company_id": "acme", "timezone": "Asia/Tokyo"}]}


@pytest.fixture
def timezones(stub):
    stub.publish("data-pipelines", "company-timezones", VALUE, version=3)


# --- reading ---------------------------------------------------------------------------------


def test_first_read_asks_the_server_with_token_and_user_agent(stub, make_client, timezones):
    client = make_client()

    assert client.get("data-pipelines", "company-timezones") == VALUE

    (request,) = stub.requests
    assert request["path"] == TIMEZONES
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert request["headers"]["User-Agent"].startswith("config-console-client/")
    assert "If-None-Match" not in request["headers"]


def test_get_config_returns_the_whole_document(make_client, timezones):
    document = make_client().get_config("data-pipelines", "company-timezones")

    assert document["version"] == 3
    assert document["value"] == VALUE
    assert document["effective_at"] == "2026-01-01T00:00:00Z"


def test_cache_hit_within_ttl_makes_no_request(stub, make_client, timezones):
    client = make_client(ttl=30)
    client.get("data-pipelines", "company-timezones")

    for _ in range(5):
        assert client.get("data-pipelines", "company-timezones") == VALUE

    assert len(stub.requests) == 1
    assert client.stats.cache_hits == 5


def test_revalidation_after_ttl_sends_if_none_match_and_304_keeps_the_value(
    stub, make_client, timezones
):
    client = make_client(ttl=0.1)
    client.get("data-pipelines", "company-timezones")
    etag = stub.documents[TIMEZONES][0]
    time.sleep(0.15)

    assert client.get("data-pipelines", "company-timezones") == VALUE

    first, second = stub.requests
    assert second["headers"]["If-None-Match"] == etag
    assert client.stats.not_modified == 1
    # The 304 restarts the TTL.
    client.get("data-pipelines", "company-timezones")
    assert len(stub.requests) == 2


def test_new_version_is_seen_after_ttl(stub, make_client, timezones):
    client = make_client(ttl=0)
    client.get("data-pipelines", "company-timezones")
    stub.publish("data-pipelines", "company-timezones", NEW_VALUE, version=4)

    assert client.get("data-pipelines", "company-timezones") == NEW_VALUE
    assert client.get_config("data-pipelines", "company-timezones")["version"] == 4


def test_numbered_version_is_never_revalidated(stub, make_client):
    stub.publish("data-pipelines", "company-timezones", VALUE, version=2, query="?version=2")
    client = make_client(ttl=0)

    for _ in range(3):
        assert client.get("data-pipelines", "company-timezones", version=2) == VALUE

    assert [request["path"] for request in stub.requests] == [TIMEZONES + "?version=2"]


def test_at_is_sent_as_an_iso_instant(stub, make_client):
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    stub.publish(
        "data-pipelines",
        "company-timezones",
        VALUE,
        version=1,
        query="?at=2026-03-01T12%3A00%3A00%2B00%3A00",
    )

    assert make_client().get("data-pipelines", "company-timezones", at=at) == VALUE


def test_naive_at_is_refused_before_asking(stub, make_client):
    with pytest.raises(ValueError, match="timezone-aware"):
        make_client().get("data-pipelines", "company-timezones", at=datetime(2026, 3, 1))
    assert stub.requests == []


def test_returned_values_cannot_change_the_cache(make_client, timezones):
    client = make_client()
    client.get("data-pipelines", "company-timezones")["companies"].clear()

    assert client.get("data-pipelines", "company-timezones") == VALUE


def test_concurrent_first_reads_make_one_request(stub, make_client, timezones):
    client = make_client()
    stub.delay = 0.1
    barrier = threading.Barrier(8)
    results = []

    def read():
        barrier.wait()
        results.append(client.get("data-pipelines", "company-timezones"))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == [VALUE] * 8
    assert len(stub.requests) == 1


def test_bundle_is_cached_and_revalidated(stub, make_client):
    stub.publish_bundle("data-pipelines", {"company-timezones": VALUE, "retention": {"days": 30}})
    client = make_client(ttl=0)

    assert client.bundle("data-pipelines") == {
        "company-timezones": VALUE,
        "retention": {"days": 30},
    }
    assert client.get_bundle("data-pipelines")["configs"]["retention"]["version"] == 1

    first, second = stub.requests_to(BUNDLE)
    assert second["headers"]["If-None-Match"] == stub.documents[BUNDLE][0]
    assert client.stats.not_modified == 1


# --- answers that are not a value ------------------------------------------------------------


def test_unknown_config_returns_the_default(make_client):
    assert make_client().get("data-pipelines", "nope", default={"x": 1}) == {"x": 1}


def test_unknown_config_without_default_raises_config_not_found(make_client):
    with pytest.raises(ConfigNotFound, match="data-pipelines/nope: not found"):
        make_client().get("data-pipelines", "nope")


def test_none_is_a_valid_default(make_client):
    assert make_client().get("data-pipelines", "nope", None) is None


def test_bad_token_raises_even_with_a_last_known_good_copy(stub, make_client, timezones, tmp_path):
    make_client().get("data-pipelines", "company-timezones")
    revoked = ConfigClient(stub.url, "cc_revoked", cache_dir=tmp_path / "cache")

    with pytest.raises(AuthenticationError, match="refused the token") as caught:
        revoked.get("data-pipelines", "company-timezones", default="not used")
    assert caught.value.status == 401


def test_deleted_config_forgets_its_copies(stub, make_client, timezones):
    client = make_client(ttl=0)
    client.get("data-pipelines", "company-timezones")
    del stub.documents[TIMEZONES]

    assert client.get("data-pipelines", "company-timezones", default=None) is None
    stub.stop()
    with pytest.raises(ServerUnreachable):
        client.get("data-pipelines", "company-timezones")


def test_redirect_is_not_followed(stub, make_client):
    stub.fail(TIMEZONES, 301, {}, headers={"Location": "http://elsewhere.example/"})

    with pytest.raises(ConfigConsoleError, match="redirected"):
        make_client().get("data-pipelines", "company-timezones")
    assert len(stub.requests) == 1


def test_bad_request_explains_itself(stub, make_client):
    stub.fail(TIMEZONES + "?at=soon", 400, {"detail": "Not an ISO 8601 instant."})

    with pytest.raises(ConfigConsoleError, match="Not an ISO 8601 instant") as caught:
        make_client().get("data-pipelines", "company-timezones", at="soon", default=None)
    assert caught.value.status == 400


def test_an_answer_that_is_not_a_document_is_an_error(stub, make_client):
    stub.serve(TIMEZONES, ["not", "a", "config"])

    with pytest.raises(ConfigConsoleError, match="not a Config Console document"):
        make_client().get("data-pipelines", "company-timezones")


# --- the server is away ----------------------------------------------------------------------


def test_server_down_serves_the_last_known_good_value_from_memory_with_a_warning(
    stub, make_client, timezones
):
    client = make_client(ttl=0)
    client.get("data-pipelines", "company-timezones")
    stub.stop()

    with pytest.warns(ServerUnreachableWarning, match="last-known-good") as caught:
        assert client.get("data-pipelines", "company-timezones") == VALUE

    message = str(caught[0].message)
    assert "data-pipelines/company-timezones (version 3)" in message
    assert "confirmed at" in message and "from memory" in message
    assert caught[0].filename == __file__  # points at the caller's line
    assert client.stats.stale == 1


def test_server_down_serves_the_last_known_good_value_from_disk_in_a_new_process(
    stub, make_client, timezones
):
    make_client().get("data-pipelines", "company-timezones")
    stub.stop()

    restarted = make_client()
    with pytest.warns(ServerUnreachableWarning, match="from disk cache"):
        assert restarted.get("data-pipelines", "company-timezones") == VALUE


def test_another_token_is_never_handed_the_disk_copy(stub, make_client, tmp_path, timezones):
    make_client().get("data-pipelines", "company-timezones")
    stub.stop()

    stranger = ConfigClient(stub.url, "cc_someone-else", cache_dir=tmp_path / "cache")

    with pytest.raises(ServerUnreachable, match="no copy"):
        stranger.get("data-pipelines", "company-timezones")


def at_minute(stub, minute):
    query = f"?at=2026-05-01T09%3A0{minute}%3A00Z"
    stub.publish("data-pipelines", "company-timezones", VALUE, version=3, query=query)


def test_reads_at_an_instant_leave_no_files_on_disk(stub, make_client, tmp_path, timezones):
    client = make_client()

    for minute in range(5):
        at_minute(stub, minute)
        client.get("data-pipelines", "company-timezones", at=f"2026-05-01T09:0{minute}:00Z")

    assert not list((tmp_path / "cache").glob("*.json"))


def test_memory_keeps_a_bounded_number_of_copies(stub, make_client, timezones, monkeypatch):
    from config_console_client import client as module

    monkeypatch.setattr(module, "MAX_ENTRIES", 3)
    client = make_client()

    for minute in range(6):
        at_minute(stub, minute)
        client.get("data-pipelines", "company-timezones", at=f"2026-05-01T09:0{minute}:00Z")

    assert len(client._entries) == 3
    assert len(client._read_locks) <= 3


def test_server_errors_serve_the_last_known_good_value(stub, make_client, timezones):
    client = make_client(ttl=0)
    client.get("data-pipelines", "company-timezones")
    stub.fail(TIMEZONES, 503)

    with pytest.warns(ServerUnreachableWarning, match="HTTP 503"):
        assert client.get("data-pipelines", "company-timezones") == VALUE


def test_timeout_serves_the_last_known_good_value(stub, make_client, timezones):
    client = make_client(ttl=0, timeout=0.2)
    client.get("data-pipelines", "company-timezones")
    stub.delay = 1

    with pytest.warns(ServerUnreachableWarning, match="no answer within 0.2 s"):
        assert client.get("data-pipelines", "company-timezones") == VALUE


def test_throttled_read_serves_the_copy_and_waits_for_retry_after(stub, make_client, timezones):
    client = make_client(ttl=0)
    client.get("data-pipelines", "company-timezones")
    stub.fail(TIMEZONES, 429, {"detail": "Slow down."}, headers={"Retry-After": "60"})

    with pytest.warns(ServerUnreachableWarning, match="HTTP 429 throttled"):
        assert client.get("data-pipelines", "company-timezones") == VALUE
        assert client.get("data-pipelines", "company-timezones") == VALUE

    assert len(stub.requests) == 2


def test_server_back_revalidates_the_disk_copy_with_its_etag(stub, make_client, timezones):
    make_client().get("data-pipelines", "company-timezones")

    restarted = make_client()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert restarted.get("data-pipelines", "company-timezones") == VALUE

    assert stub.requests[-1]["headers"]["If-None-Match"] == stub.documents[TIMEZONES][0]
    assert restarted.stats.not_modified == 1


def test_server_down_with_nothing_known_returns_the_default(stub, make_client):
    stub.stop()

    assert make_client().get("data-pipelines", "company-timezones", default="UTC") == "UTC"


def test_server_down_with_nothing_known_and_no_default_raises(stub, make_client):
    stub.stop()

    with pytest.raises(ServerUnreachable, match="no copy of data-pipelines/company-timezones"):
        make_client().get("data-pipelines", "company-timezones")


def test_server_down_serves_the_last_known_bundle(stub, make_client):
    stub.publish_bundle("data-pipelines", {"retention": {"days": 30}})
    make_client().bundle("data-pipelines")
    stub.stop()

    with pytest.warns(ServerUnreachableWarning, match="bundle of namespace data-pipelines"):
        assert make_client().bundle("data-pipelines") == {"retention": {"days": 30}}


def test_disk_copy_holds_value_etag_and_time_but_never_the_token(
    stub, make_client, timezones, tmp_path
):
    make_client().get("data-pipelines", "company-timezones")

    (path,) = (tmp_path / "cache").iterdir()
    assert path.name.startswith("data-pipelines.company-timezones.")
    record = json.loads(path.read_text())
    assert record["document"]["value"] == VALUE
    assert record["document"]["version"] == 3
    assert record["etag"] == stub.documents[TIMEZONES][0]
    assert record["confirmed_at"] == pytest.approx(time.time(), abs=60)
    assert TOKEN not in path.read_text()
    assert path.stat().st_mode & 0o077 == 0


def test_no_cache_dir_keeps_nothing_on_disk(stub, make_client, timezones, tmp_path):
    make_client(cache_dir=None).get("data-pipelines", "company-timezones")
    stub.stop()

    with pytest.raises(ServerUnreachable):
        make_client(cache_dir=None).get("data-pipelines", "company-timezones")


# --- configuration ---------------------------------------------------------------------------


def test_url_and_token_come_from_the_environment(stub, timezones, monkeypatch):
    monkeypatch.setenv("CONFIG_CONSOLE_URL", stub.url + "/")
    monkeypatch.setenv("CONFIG_CONSOLE_TOKEN", TOKEN)

    client = ConfigClient()

    assert client.base_url == stub.url
    assert client.get("data-pipelines", "company-timezones") == VALUE


def test_a_url_without_token_is_refused_at_once(stub):
    with pytest.raises(ValueError, match="CONFIG_CONSOLE_TOKEN"):
        ConfigClient(stub.url)


def test_repr_never_shows_the_token(stub):
    assert TOKEN not in repr(ConfigClient(stub.url, TOKEN))
