"""The watch stream, served by uvicorn: live and scheduled events, resume, scope and revoke."""

import json
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from configs.models import Config
from configs.services import token_revoke, version_cancel
from tests.push.conftest import Stream, publish_metric, read_token


def watch_url(server, namespace="sales-ops"):
    return f"{server}/api/v1/namespaces/{namespace}/watch/"


def later(seconds, action):
    """Run `action` in `seconds` (while the test waits on the stream), on a thread that gives its
    database connection back to the pool when done."""

    def run():
        try:
            action()
        finally:
            connection.close()

    timer = threading.Timer(seconds, run)
    timer.start()
    return timer


def test_a_publish_arrives_as_a_live_event(asgi_server, alice, carol):
    _, secret = read_token(alice, "sales-ops")
    stream = Stream(watch_url(asgi_server), secret)
    published = {}
    timer = later(0.3, lambda: published.update(version=publish_metric(carol, "signups")))

    event = stream.next_event()
    timer.join()

    version = published["version"]
    assert event["event"] == "live"
    assert event["data"] == {
        "key": "custom-metrics",
        "environment": "production",
        "version": version.number,
        "effective_at": version.effective_at.isoformat().replace("+00:00", "Z"),
    }
    stream.close()


def test_a_scheduled_version_is_announced_then_goes_live_on_time(asgi_server, alice, carol):
    _, secret = read_token(alice, "sales-ops")
    stream = Stream(watch_url(asgi_server), secret)
    when = timezone.now() + timedelta(seconds=2)
    version = publish_metric(carol, "refunds", effective_at=when)

    scheduled = stream.next_event()
    live = stream.next_event()

    assert scheduled["event"] == "scheduled"
    assert scheduled["data"]["version"] == version.number
    assert scheduled["data"]["cancelled"] is False
    assert live["event"] == "live"
    assert live["data"]["version"] == version.number
    assert live["id"] > scheduled["id"]
    assert timezone.now() >= when
    stream.close()


def test_a_cancel_is_announced(asgi_server, alice, carol):
    _, secret = read_token(alice, "sales-ops")
    version = publish_metric(carol, "refunds", effective_at=timezone.now() + timedelta(hours=1))
    stream = Stream(watch_url(asgi_server), secret)
    later(0.3, lambda: version_cancel(version=version, actor=carol, reason="Not yet"))

    event = stream.next_event()

    assert (event["event"], event["data"]["version"], event["data"]["cancelled"]) == (
        "scheduled",
        version.number,
        True,
    )
    stream.close()


def test_resuming_with_last_event_id_misses_nothing(asgi_server, alice, carol):
    _, secret = read_token(alice, "sales-ops")
    stream = Stream(watch_url(asgi_server), secret)
    later(0.3, lambda: publish_metric(carol, "first"))
    seen = stream.next_event()
    stream.close()

    second = publish_metric(carol, "second")
    third = publish_metric(carol, "third")
    resumed = Stream(watch_url(asgi_server), secret, last_event_id=seen["id"])

    versions = [resumed.next_event()["data"]["version"] for _ in range(2)]

    assert versions == [second.number, third.number]
    resumed.close()


def test_a_revoked_token_s_stream_is_closed(asgi_server, alice):
    token, secret = read_token(alice, "sales-ops")
    stream = Stream(watch_url(asgi_server), secret, timeout=20)
    started = time.monotonic()
    later(0.3, lambda: token_revoke(token=token, actor=alice, reason="Leaked"))

    assert stream.next_event() is None  # the server ended the stream
    assert time.monotonic() - started < 15  # not merely the next heartbeat's check


def test_an_expiring_token_s_stream_ends_at_expiry(asgi_server, alice):
    _, secret = read_token(alice, "sales-ops", expires_at=timezone.now() + timedelta(seconds=1))
    stream = Stream(watch_url(asgi_server), secret, timeout=20)

    assert stream.next_event() is None
    assert stream.comments == []


@pytest.mark.parametrize(
    "namespace, header, status",
    [
        ("data-pipelines", "scoped", 404),  # outside the token's scope
        ("nowhere", "scoped", 404),
        ("sales-ops", "Bearer cc_not-a-token", 401),
        ("sales-ops", None, 401),
    ],
)
def test_watch_refuses_without_access(asgi_server, alice, namespace, header, status):
    _, secret = read_token(alice, "sales-ops")
    request_secret = secret if header == "scoped" else None
    url = watch_url(asgi_server, namespace)
    request = urllib.request.Request(url)
    if request_secret:
        request.add_header("Authorization", f"Bearer {request_secret}")
    elif header:
        request.add_header("Authorization", header)
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=5)

    assert error.value.code == status
    assert error.value.headers["Content-Type"] == "application/json"


def test_under_wsgi_the_stream_is_refused_so_clients_poll(live_server):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(watch_url(live_server.url), timeout=5)

    assert error.value.code == 503
    assert "ASGI" in json.loads(error.value.read())["detail"]


def test_a_schema_change_arrives_as_one_live_event_per_config_in_order(
    asgi_server, alice, bob, carol
):
    from configs.models import Namespace
    from configs.services import config_create
    from reviews import services as review_services
    from tests.api.test_schema_change_addresses import open_change

    timezones = Config.objects.get(key="company-timezones")
    namespace = Namespace.objects.get(slug="data-pipelines")
    more = [
        config_create(
            namespace=namespace,
            key=f"tz-{n:03d}",
            name=f"Timezones {n}",
            value={"companies": [{"company_id": f"company-{n}", "timezone": "UTC"}]},
            actor=carol,
            schema=timezones.schema,
        )
        for n in range(3)
    ]
    configs = sorted([timezones, *more], key=lambda c: c.pk)
    change = open_change(timezones, carol)
    review_services.change_request_approve(change_request=change, reviewer=bob)
    _, secret = read_token(alice, "data-pipelines")
    stream = Stream(watch_url(asgi_server, "data-pipelines"), secret)
    later(0.3, lambda: review_services.change_request_publish(change_request=change, actor=bob))

    events = [stream.next_event() for _ in configs]

    assert [(e["event"], e["data"]["key"], e["data"]["version"]) for e in events] == [
        ("live", config.key, 2) for config in configs
    ]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    stream.close()


def publish_metric_in(environment, actor, name):
    """A new version of sales-ops/custom-metrics in `environment` (a name)."""
    from django.db import transaction

    from configs import environments
    from configs.selectors import newest_version
    from configs.services import version_publish

    env = environments.named(environment)
    config = Config.objects.get(namespace__slug="sales-ops", key="custom-metrics")
    newest = newest_version(config, env)
    metric = {"name": name, "kind": "count", "event": name}
    value = {**newest.value, "metrics": [*newest.value["metrics"], metric]}
    with transaction.atomic():
        return version_publish(
            config=config, value=value, base_number=newest.number, actor=actor, environment=env
        )


def test_a_stream_hears_only_its_environment_s_events_each_naming_it(asgi_server, alice, carol):
    from configs import environments

    _, secret = read_token(alice, "sales-ops", environment=environments.named("staging"))
    stream = Stream(watch_url(asgi_server), secret)
    published = {}

    def publish_both():
        publish_metric(carol, "orders")
        published["staging"] = publish_metric_in("staging", carol, "refunds")

    timer = later(0.3, publish_both)
    event = stream.next_event()
    timer.join()

    assert event["event"] == "live"
    assert event["data"]["environment"] == "staging"
    assert event["data"]["version"] == published["staging"].number
    assert "environment_id" not in event["data"]
    stream.close()
    resumed = Stream(watch_url(asgi_server) + "?environment=staging", secret, last_event_id=0)
    assert resumed.next_event()["data"]["environment"] == "staging"
    resumed.close()


@pytest.mark.parametrize("environment", ["production", "moon"])
def test_a_stream_of_an_environment_the_token_does_not_read_is_404(asgi_server, alice, environment):
    from configs import environments

    _, secret = read_token(alice, "sales-ops", environment=environments.named("staging"))
    with pytest.raises(urllib.error.HTTPError) as refused:
        Stream(watch_url(asgi_server) + f"?environment={environment}", secret)

    assert refused.value.code == 404
    assert environment in json.loads(refused.value.read())["detail"]
