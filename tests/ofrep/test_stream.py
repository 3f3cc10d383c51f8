"""The OFREP event stream, served by uvicorn: refetchEvaluation after a publish in the token's
namespaces (and nothing for others'), resume with Last-Event-ID, a bad ticket refused, and the
stream ended when its token is revoked."""

import json
import urllib.error
import urllib.request

import pytest

from configs.services import token_revoke
from tests.push.conftest import publish_metric, read_token
from tests.push.test_watch import later

pytestmark = pytest.mark.django_db(transaction=True)


def stream_url(server, secret):
    request = urllib.request.Request(
        f"{server}/ofrep/v1/evaluate/flags",
        data=b'{"context": {}}',
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        (stream,) = json.loads(answer.read())["eventStreams"]
    assert stream["type"] == "sse" and stream["inactivityDelaySec"] == 120
    return stream["url"]


class Events:
    """An open stream, read event by event (unnamed events, as OFREP sends them)."""

    def __init__(self, url, last_event_id=None):
        request = urllib.request.Request(url)
        if last_event_id is not None:
            request.add_header("Last-Event-ID", str(last_event_id))
        self.response = urllib.request.urlopen(request, timeout=5)

    def next(self):
        """The next event as {id, data}, None when the stream ends; comments skipped."""
        event = {}
        while True:
            line = self.response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if not line:
                if "data" in event:
                    return event
                event = {}
            elif not line.startswith(":"):
                field, _, value = line.partition(": ")
                event[field] = json.loads(value) if field == "data" else value


def test_a_publish_in_a_namespace_the_token_reads_says_refetch(asgi_server, alice, carol):
    _t, secret = read_token(alice, "sales-ops")
    events = Events(stream_url(asgi_server, secret))

    publisher = later(0.5, lambda: publish_metric(carol, "signups"))
    event = events.next()
    publisher.join()
    events.response.close()

    assert event["data"]["type"] == "refetchEvaluation"
    assert event["data"]["etag"] == event["id"]
    assert isinstance(event["data"]["lastModified"], int)


def test_a_publish_elsewhere_says_nothing(asgi_server, alice, carol):
    _t, secret = read_token(alice, "data-pipelines")
    events = Events(stream_url(asgi_server, secret))
    events.response.fp.raw._sock.settimeout(2)

    publish_metric(carol, "signups")  # sales-ops, which this token does not read

    with pytest.raises(TimeoutError):
        events.next()
    events.response.close()


def test_resuming_after_a_missed_publish_says_refetch_at_once(asgi_server, alice, carol):
    _t, secret = read_token(alice, "sales-ops")
    url = stream_url(asgi_server, secret)
    events = Events(url)
    publisher = later(0.3, lambda: publish_metric(carol, "signups"))
    first = events.next()
    publisher.join()
    events.response.close()

    publish_metric(carol, "refunds")  # while away
    again = Events(url, last_event_id=first["id"])
    resumed = again.next()
    again.response.close()

    assert int(resumed["id"]) > int(first["id"])


def test_a_ticket_that_is_not_signed_is_refused(asgi_server):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{asgi_server}/ofrep/v1/stream?ticket=abc:def", timeout=5)

    assert refused.value.code == 401


def test_a_revoked_token_s_stream_ends(asgi_server, alice):
    token, secret = read_token(alice, "sales-ops")
    events = Events(stream_url(asgi_server, secret))

    revoker = later(0.5, lambda: token_revoke(token=token, actor=alice, reason="Leaked"))
    ended = events.next()
    revoker.join()

    assert ended is None
