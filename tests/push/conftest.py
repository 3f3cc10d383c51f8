"""An ASGI server for the tests that follow watch streams, and an event-stream reader."""

import asyncio
import concurrent.futures
import copy
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
from asgiref.testing import ApplicationCommunicator

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


# --- the deployment's layering, driven directly (tests of configs/api/hot.py) ----------------


class CountingDjango:
    """Django's ASGI application, counting the requests that reach it."""

    def __init__(self):
        self.reached = 0

    async def __call__(self, scope, receive, send):
        from configconsole.asgi import django_application

        self.reached += 1
        await django_application(scope, receive, send)


def wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def served(settings):
    """The deployment's layering (HotReads in front of Django), with reads from memory on:
    (the application, the CountingDjango behind it)."""
    from configs.api.hot import HotReads
    from push.feed import feed
    from push.memory import memory

    settings.READS_FROM_MEMORY = True
    memory.clear()
    feed.ensure_started()
    assert wait_for(feed.healthy)
    django = CountingDjango()
    yield HotReads(django), django
    feed.stop()
    memory.clear()


@pytest.fixture
def secret(alice):
    """A token of alice's reading sales-ops, known to this process's feed."""
    _token, secret = read_token(alice, "sales-ops")
    time.sleep(0.5)  # the feed tells this process of the token's creation: let it arrive
    return secret


def _policy(name, value):
    """django-csp writes the policy's directives in no fixed order: compare them as a set."""
    if name == b"content-security-policy":
        return b"; ".join(sorted(value.split(b"; ")))
    return value


def asgi_call(app, method, path, secret=None, query="", body=b"", chunks=1, repeated=(), **headers):
    """(status, headers as sorted (name, value) in lower case, body) of one request to an ASGI
    application, its body sent in `chunks` messages; `repeated`: (name, value) headers sent
    after the others, a second time."""
    headers = {"host": "testserver", **headers}
    if secret:
        headers["authorization"] = f"Bearer {secret}"
    wire = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    wire += [(name.encode(), value.encode()) for name, value in repeated]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": wire,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def call():
        communicator = ApplicationCommunicator(app, scope)
        size = max(1, len(body) // chunks)
        parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        for n, part in enumerate(parts):
            more = n < len(parts) - 1
            await communicator.send_input({"type": "http.request", "body": part, "more_body": more})
        start = await communicator.receive_output(10)
        answer = b""
        while True:
            message = await communicator.receive_output(10)
            answer += message.get("body", b"")
            if not message.get("more_body"):
                break
        await communicator.wait(1)
        names = [(name.lower(), _policy(name.lower(), value)) for name, value in start["headers"]]
        return start["status"], sorted(names), answer

    # On a thread of its own: after the browser tests, pytest-playwright's sync API keeps an
    # event loop running on the main thread, where asyncio.run() refuses to start another.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, call()).result()
