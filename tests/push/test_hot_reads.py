"""The deployment's ASGI application answers a warm token read itself, in the event loop, with
exactly what Django answers: the same status, body and headers, a publish or a revoke seen as
soon as the feed tells, and the read recorded for "Read by". Anything it cannot answer from
memory reaches Django.

PostgreSQL only: memory is used only while LISTEN/NOTIFY carries the feed.
"""

import json
import os
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from configconsole.asgi import application
from configs import consumers, environments
from configs.api import reads
from configs.api.hot import HotReads
from configs.models import ApiToken, Consumer
from configs.services import token_hash, token_revoke
from push.feed import feed
from push.memory import memory
from tests.push.conftest import asgi_call, publish_metric, read_token, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").split(":")[0] not in ("postgres", "postgresql"),
        reason="reads from memory need PostgreSQL's LISTEN/NOTIFY (run with DATABASE_URL)",
    ),
]

URL = "/api/v1/configs/sales-ops/custom-metrics/"


def get(app, path, secret=None, query="", **headers):
    """(status, headers as sorted (name, value) in lower case, body) of one GET."""
    return asgi_call(app, "GET", path, secret, query, **headers)


def test_the_deployment_puts_the_hot_reads_in_front_of_django():
    assert isinstance(application, HotReads)


@pytest.mark.parametrize("path", [URL, URL + "value/"])
def test_a_warm_read_is_answered_without_django_and_as_django_answers(served, secret, path):
    app, django = served
    first = get(app, path, secret)  # Django answers, and the layer learns its headers
    reached = django.reached

    again = get(app, path, secret)

    assert first[0] == 200
    assert django.reached == reached  # answered in front of Django
    assert again == first


def test_a_warm_304_is_answered_without_django_and_as_django_answers(served, secret):
    app, django = served
    etag = dict(get(app, URL, secret)[1])[b"etag"].decode()
    first = get(app, URL, secret, if_none_match=etag)
    reached = django.reached

    again = get(app, URL, secret, if_none_match=etag)

    assert first[0] == 304 and first[2] == b""
    assert django.reached == reached
    assert again == first


def test_a_publish_is_read_as_soon_as_the_feed_tells(served, secret, carol):
    app, _django = served
    get(app, URL, secret)
    get(app, URL, secret)

    published = publish_metric(carol, "signups")

    def version():
        status, _headers, body = get(app, URL, secret)
        return status, json.loads(body)["version"]

    assert wait_for(lambda: version() == (200, published.number))


def test_a_revoked_token_is_refused_as_soon_as_the_feed_tells(served, alice):
    app, _django = served
    token, secret = read_token(alice, "sales-ops")
    time.sleep(0.5)
    get(app, URL, secret)
    assert get(app, URL, secret)[0] == 200

    token_revoke(token=token, actor=alice, reason="Leaked")

    assert wait_for(lambda: get(app, URL, secret)[0] == 401)


def test_reads_answered_in_front_of_django_are_recorded_as_consumers(served, alice):
    app, django = served
    token, secret = read_token(alice, "sales-ops")
    time.sleep(0.5)
    get(app, URL, secret)
    consumers.flush()
    Consumer.objects.all().delete()
    consumers.forget()
    cache.clear()  # what says another process wrote this read within the minute
    reached = django.reached

    get(app, URL, secret)
    consumers.flush()

    assert django.reached == reached
    assert Consumer.objects.filter(token=token).exists()


def test_a_host_django_refuses_is_never_answered_in_front_of_it(served, secret):
    app, django = served
    get(app, URL, secret)
    reached = django.reached

    status, _headers, _body = get(app, URL, secret, host="evil.example")

    assert status == 400
    assert django.reached == reached + 1


def test_without_a_healthy_feed_every_read_goes_to_django(served, secret):
    app, django = served
    get(app, URL, secret)
    get(app, URL, secret)
    feed.stop(cut=True)
    reached = django.reached
    try:
        assert get(app, URL, secret)[0] == 200
    finally:
        feed.stop()

    assert django.reached == reached + 1


BUNDLE = "/api/v1/namespaces/sales-ops/bundle/"


def test_a_warm_bundle_and_its_304_are_answered_without_django_and_as_django_answers(
    served, secret
):
    app, django = served
    first = get(app, BUNDLE, secret)  # Django answers, remembers, and the layer learns
    etag = dict(first[1])[b"etag"].decode()
    first_304 = get(app, BUNDLE, secret, if_none_match=etag)
    reached = django.reached

    again = get(app, BUNDLE, secret)
    again_304 = get(app, BUNDLE, secret, if_none_match=etag)

    assert first[0] == 200 and "custom-metrics" in json.loads(first[2])["configs"]
    assert first_304[0] == 304 and first_304[2] == b""
    assert django.reached == reached
    assert (again, again_304) == (first, first_304)


def test_a_publish_is_in_the_bundle_as_soon_as_the_feed_tells(served, secret, carol):
    app, _django = served
    get(app, BUNDLE, secret)
    get(app, BUNDLE, secret)

    published = publish_metric(carol, "signups")

    def version():
        status, _headers, body = get(app, BUNDLE, secret)
        return status, json.loads(body)["configs"]["custom-metrics"]["version"]

    assert wait_for(lambda: version() == (200, published.number))


def test_a_revoked_token_reads_no_bundle_as_soon_as_the_feed_tells(served, alice):
    app, _django = served
    token, secret = read_token(alice, "sales-ops")
    time.sleep(0.5)
    get(app, BUNDLE, secret)
    assert get(app, BUNDLE, secret)[0] == 200

    token_revoke(token=token, actor=alice, reason="Leaked")

    assert wait_for(lambda: get(app, BUNDLE, secret)[0] == 401)


def test_a_bundle_read_in_front_of_django_is_recorded_for_each_config(served, alice):
    app, django = served
    token, secret = read_token(alice, "sales-ops")
    time.sleep(0.5)
    get(app, BUNDLE, secret)
    consumers.flush()
    Consumer.objects.all().delete()
    consumers.forget()
    cache.clear()
    reached = django.reached

    get(app, BUNDLE, secret)
    consumers.flush()

    assert django.reached == reached
    keys = set(Consumer.objects.filter(token=token).values_list("config__key", flat=True))
    assert "custom-metrics" in keys


def test_past_the_bound_the_least_recently_read_is_dropped_and_read_again(served, secret, settings):
    app, django = served
    settings.READ_MEMORY_ENTRIES = 1  # one config's entry at most
    other = "/api/v1/configs/sales-ops/legacy-fields/"
    get(app, URL, secret)
    get(app, other, secret)  # pushes custom-metrics out
    reached = django.reached

    assert get(app, URL, secret)[0] == 200  # from the database again
    assert django.reached == reached + 1
    # kept by config and environment (the token reads the default one)
    assert list(memory.configs) == [("sales-ops", "custom-metrics", environments.default().id)]


def test_after_a_publish_the_next_read_is_answered_from_memory_again(served, secret, carol):
    app, django = served
    get(app, URL, secret)
    get(app, URL, secret)

    published = publish_metric(carol, "signups")
    # The feed tells the new live version; its bytes are prepared off the request path.
    assert wait_for(lambda: reads.prepared_here(published.pk) is not None)
    reached = django.reached
    status, _headers, body = get(app, URL, secret)

    assert (status, json.loads(body)["version"]) == (200, published.number)
    assert django.reached == reached


@pytest.mark.parametrize("path", [URL, URL + "value/", BUNDLE])
def test_a_warm_read_naming_the_token_s_environment_is_answered_without_django(
    served, secret, path
):
    app, django = served
    first = get(app, path, secret, query="environment=production")
    etag = dict(first[1])[b"etag"].decode()
    first_304 = get(app, path, secret, query="environment=production", if_none_match=etag)
    reached = django.reached

    again = get(app, path, secret, query="environment=production")
    again_304 = get(app, path, secret, query="environment=production", if_none_match=etag)

    assert first[0] == 200 and first_304[0] == 304
    assert django.reached == reached  # answered in front of Django
    assert (again, again_304) == (first, first_304)
    assert again[2] == get(app, path, secret)[2]  # the same answer as without asking


def test_a_staging_token_reads_staging_from_memory_and_nothing_else(served, alice):
    from configs import environments

    app, django = served
    _token, secret = read_token(alice, "sales-ops", environment=environments.named("staging"))
    time.sleep(0.5)  # the feed tells this process of the token's creation: let it arrive
    for query in ("", "environment=staging"):
        get(app, URL, secret, query=query)
        get(app, BUNDLE, secret, query=query)
    reached = django.reached

    read = get(app, URL, secret, query="environment=staging")
    bundle = get(app, BUNDLE, secret)

    assert django.reached == reached
    assert json.loads(read[2])["environment"] == "staging"
    assert json.loads(bundle[2])["environment"] == "staging"
    refused = get(app, URL, secret, query="environment=production")
    assert refused[0] == 404 and django.reached == reached + 1
    assert get(app, BUNDLE, secret, query="environment=production")[0] == 404


def test_reads_stay_in_front_of_django_while_the_environments_are_read_again(
    served, secret, monkeypatch
):
    """Every FRESH_FOR seconds each process reads the environments again. Reads by tokens made
    without an environment (the default one's) used to go to Django until one of them had
    re-read them: under load, a burst of slow answers every 5 s, most of the token read's p99."""
    app, django = served
    get(app, URL, secret)
    get(app, BUNDLE, secret)
    reached = django.reached
    stale = time.monotonic() - environments.FRESH_FOR - 1
    monkeypatch.setattr(environments, "_read_at", stale)

    read = get(app, URL, secret)
    bundle = get(app, BUNDLE, secret)

    assert (read[0], bundle[0]) == (200, 200)
    assert django.reached == reached  # answered in front of Django, with what is kept
    wait_for(lambda: environments._read_at > stale)  # and read again on a thread of their own


def test_environments_forgotten_by_a_change_here_are_read_again_through_django(served, secret):
    app, django = served
    get(app, URL, secret)
    reached = django.reached

    environments.forget()  # as a change to an environment in this process does

    assert get(app, URL, secret)[0] == 200
    assert django.reached == reached + 1


FLAG = "/ofrep/v1/evaluate/flags/sales-ops.custom-metrics"
CONTEXT = json.dumps({"context": {"targetingKey": "user-42"}}).encode()
JSON = {"content_type": "application/json", "content_length": str(len(CONTEXT))}
# Every request the hot path answers, as (method, path, body, headers).
HOT_REQUESTS = {
    "read": ("GET", URL, b"", {}),
    "bundle": ("GET", BUNDLE, b"", {}),
    "evaluation": ("POST", URL + "evaluate/", CONTEXT, JSON),
    "OpenFeature flag": ("POST", FLAG, CONTEXT, JSON),
}


def used_a_while_ago(app, secret, token, method, path, body, headers):
    """Warms the request's path, then sets the token's last use 5 minutes back, as this process
    and the database hold it 5 minutes on."""
    for _ in range(2):
        assert asgi_call(app, method, path, secret, body=body, **headers)[0] == 200
    a_while_ago = timezone.now() - timedelta(minutes=5)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=a_while_ago)
    memory.used_at(token_hash(secret), a_while_ago)
    return a_while_ago


@pytest.mark.parametrize("request_", HOT_REQUESTS.values(), ids=HOT_REQUESTS)
def test_a_read_whose_token_use_is_due_is_answered_in_front_of_django(
    served, alice, settings, request_
):
    """Once a minute a token's last use is due. Sent to Django, that read wrote it while every
    read arriving meanwhile queued behind it on Django's one thread (up to 270 ms); now the
    recorder's thread writes it within seconds."""
    app, django = served
    token, secret = read_token(alice, "sales-ops")
    time.sleep(0.5)
    a_while_ago = used_a_while_ago(app, secret, token, *request_)
    method, path, body, headers = request_
    reached = django.reached
    settings.CONSUMER_FLUSH_SECONDS = 0.1
    consumers.stop_recorder()  # the tests' own settings started none
    try:
        answers = [asgi_call(app, method, path, secret, body=body, **headers)[0] for _ in "abc"]

        def written():
            token.refresh_from_db()
            return token.last_used_at > a_while_ago

        assert wait_for(written)
    finally:
        consumers.stop_recorder()

    assert answers == [200, 200, 200]
    assert django.reached == reached
    assert timezone.now() - token.last_used_at < timedelta(minutes=1)


def test_with_the_recorder_off_the_read_whose_use_is_due_writes_it_through_django(served, alice):
    app, django = served
    token, secret = read_token(alice, "sales-ops")
    time.sleep(0.5)
    a_while_ago = used_a_while_ago(app, secret, token, *HOT_REQUESTS["read"])
    reached = django.reached

    assert get(app, URL, secret)[0] == 200  # the tests' own settings: CONSUMER_FLUSH_SECONDS=0

    assert django.reached == reached + 1
    token.refresh_from_db()
    assert token.last_used_at > a_while_ago
    assert get(app, URL, secret)[0] == 200
    assert django.reached == reached + 1  # and the reads after it are answered here again
