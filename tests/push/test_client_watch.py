"""The client's watch(): copies kept current by the stream, polling when there is none."""

import time

from config_console_client import ConfigClient

from tests.push.conftest import publish_metric, read_token


def wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def metric_names(client):
    return [metric["name"] for metric in client.get("sales-ops", "custom-metrics")["metrics"]]


def test_watch_keeps_the_copy_current_and_reads_from_memory(asgi_server, alice, carol):
    _, secret = read_token(alice, "sales-ops")
    client = ConfigClient(asgi_server, secret, ttl=3600, cache_dir=None)
    assert "signups" not in metric_names(client)

    with client.watch("sales-ops") as watch:
        assert wait_for(lambda: watch.connected)
        publish_metric(carol, "signups")

        # The TTL is an hour: only the stream can tell the client.
        assert wait_for(lambda: "signups" in metric_names(client))
        requests = client.stats.requests
        for _ in range(50):
            assert "signups" in metric_names(client)

    assert client.stats.requests == requests  # fifty reads, all from memory


def test_a_stream_that_reconnects_misses_nothing(asgi_server, alice, carol):
    _, secret = read_token(alice, "sales-ops")
    client = ConfigClient(asgi_server, secret, ttl=3600, cache_dir=None)
    metric_names(client)
    with client.watch("sales-ops") as watch:
        assert wait_for(lambda: watch.connected)
        publish_metric(carol, "first")
        assert wait_for(lambda: "first" in metric_names(client))

        watch._connection.sock.shutdown(2)  # the connection drops
        assert wait_for(lambda: not watch.connected)
        publish_metric(carol, "second")

        assert wait_for(lambda: "second" in metric_names(client))
        assert watch.last_event_id is not None


def test_watch_falls_back_to_polling_when_the_stream_is_refused(live_server, alice, carol):
    # pytest-django's live server is WSGI: it refuses streams with a 503.
    _, secret = read_token(alice, "sales-ops")
    client = ConfigClient(live_server.url, secret, ttl=0.2, cache_dir=None)
    metric_names(client)

    with client.watch("sales-ops") as watch:
        assert wait_for(lambda: watch.refused == "HTTP 503")
        publish_metric(carol, "refunds")

        assert wait_for(lambda: "refunds" in metric_names(client))
        assert not watch.connected
    assert client.stats.not_modified + client.stats.fetched >= 2  # revalidated with its ETag
