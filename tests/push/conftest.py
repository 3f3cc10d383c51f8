"""An ASGI server for the tests that follow watch streams, and an event-stream reader."""

import copy
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from configs.models import Config, Namespace
from configs.selectors import newest_version
from configs.services import token_create
from reviews import services as review_services


@pytest.fixture
def asgi_server(transactional_db):
    """The app under uvicorn in a thread (pytest-django's live server is WSGI: no streams)."""
    import uvicorn

    from configconsole.asgi import application

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(application, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    # The first request imports the URLs and views: let it, before tests time their requests.
    try:
        urllib.request.urlopen(f"{url}/api/v1/", timeout=60)
    except urllib.error.HTTPError:
        pass
    yield url
    server.should_exit = True
    thread.join(timeout=10)
    from push.feed import feed

    feed.stop()


def read_token(user, *slugs, **kwargs):
    namespaces = list(Namespace.objects.filter(slug__in=slugs))
    return token_create(user=user, name="watcher", namespaces=namespaces, **kwargs)


class Stream:
    """An open event stream, read event by event."""

    def __init__(self, url, secret=None, last_event_id=None, timeout=5.0):
        request = urllib.request.Request(url)
        if secret:
            request.add_header("Authorization", f"Bearer {secret}")
        if last_event_id is not None:
            request.add_header("Last-Event-ID", str(last_event_id))
        self.response = urllib.request.urlopen(request, timeout=timeout)
        self.comments = []

    def next_event(self):
        """The next event as {id, event, data}; comments are kept aside. None at the end."""
        event = {}
        while True:
            line = self.response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if not line:
                if "event" in event:
                    return event
                event = {}
                continue
            if line.startswith(":"):
                self.comments.append(line)
                continue
            field, _, value = line.partition(": ")
            if field == "data":
                value = json.loads(value)
            elif field == "id":
                value = int(value)
            event[field] = value

    def close(self):
        self.response.close()


def publish_metric(author, name, effective_at=None):
    """A new version of sales-ops/custom-metrics (a namespace that needs no approval)."""
    config = Config.objects.get(namespace__slug="sales-ops", key="custom-metrics")
    version = newest_version(config)
    value = copy.deepcopy(version.value)
    value["metrics"].append({"name": name, "kind": "count", "event": name})
    change = review_services.change_request_open(
        config=config,
        author=author,
        value=value,
        title=f"Count {name}",
        base_version=version.number,
    )
    if effective_at is None:
        change = review_services.change_request_publish(change_request=change, actor=author)
    else:
        change = review_services.change_request_publish(
            change_request=change, actor=author, effective_at=effective_at
        )
    return newest_version(config)
