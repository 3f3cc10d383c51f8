"""Following a namespace's watch stream, so the client's copies stay current without polling.

A `Watch` is one background thread holding `GET /api/v1/namespaces/<ns>/watch/` open. While it
is connected, the client answers live reads of that namespace from memory for as long as no
event says otherwise; on a `live` event it fetches the changed config at once (one request with
its ETag), so the next `get()` has the new value in memory. When the stream drops it reconnects
with `Last-Event-ID`, backing off up to `MAX_BACKOFF`; while it is down or refused (an older
server, a WSGI-only deployment) reads go back to the TTL and ETag revalidation, i.e. polling.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Protocol

FIRST_BACKOFF = 0.1
MAX_BACKOFF = 30.0
# The server sends a comment every 15 s; three missed ones mean the connection is dead.
READ_TIMEOUT = 45.0


class WatchingClient(Protocol):
    """What a watch needs of the client that started it (`ConfigClient`). Said here, so that this
    module needs nothing from client.py, which starts watches: the imports point one way."""

    base_url: str | None
    timeout: float
    user_agent: str
    _token: str | None
    _ssl: ssl.SSLContext | None
    environment: str | None

    def _unwatch(self, watch: Watch) -> None: ...

    def _revalidate_namespace(self, namespace: str) -> None: ...

    def _refresh_after_event(self, namespace: str, key: str | None) -> None: ...


class Watch:
    """A namespace followed in the background; `stop()` (or leaving a `with`) ends it."""

    def __init__(self, client: WatchingClient, namespace: str):
        self.client = client
        self.namespace = namespace
        self.connected = False
        self.last_event_id: int | None = None
        self.events = 0  # events heard, for tests and metrics
        self.refused: str | None = None  # why the last connection attempt failed, if it did
        # Copies are trusted only if fetched in the current epoch and after the last event for
        # their key: a copy that raced an event is never mistaken for a current one.
        self.epoch = 0
        self._generations: dict[str | None, int] = {}
        self._stop = threading.Event()
        self._connection: http.client.HTTPConnection | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"config-console-watch-{namespace}", daemon=True
        )

    def start(self) -> Watch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        connection = self._connection
        if connection is not None and connection.sock is not None:
            try:
                connection.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.client._unwatch(self)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stamp(self, key: str | None) -> tuple[int, int, int]:
        """What a copy of `key` (None: the bundle) fetched now is current as of."""
        return (self.epoch, self._generations.get(key, 0), self._generations.get(None, 0))

    def keeps(self, key: str | None, stamp) -> bool:
        """Whether a copy with this stamp is still current: the stream is up and no event
        for its key came after it."""
        return self.connected and stamp == self.stamp(key)

    # The thread -------------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = FIRST_BACKOFF
        while not self._stop.is_set():
            try:
                for event in self._events():
                    backoff = FIRST_BACKOFF
                    self._hear(event)
            except (OSError, http.client.HTTPException, ValueError) as error:
                self.refused = self.refused or str(error) or type(error).__name__
            self.connected = False
            self._stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _open(self) -> http.client.HTTPConnection:
        url = urllib.parse.urlsplit(self.client.base_url)
        if url.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                url.hostname, url.port, timeout=self.client.timeout, context=self.client._ssl
            )
        else:
            connection = http.client.HTTPConnection(
                url.hostname, url.port, timeout=self.client.timeout
            )
        path = url.path.rstrip("/")
        path += f"/api/v1/namespaces/{urllib.parse.quote(self.namespace, safe='')}/watch/"
        if self.client.environment is not None:
            path += "?" + urllib.parse.urlencode({"environment": self.client.environment})
        headers = {
            "Accept": "text/event-stream",
            "Authorization": f"Bearer {self.client._token}",
            "User-Agent": self.client.user_agent,
        }
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = str(self.last_event_id)
        self._connection = connection
        connection.request("GET", path, headers=headers)
        return connection

    def _events(self) -> Iterator[dict]:
        connection = self._open()
        try:
            response = connection.getresponse()
            if response.status != 200:
                self.refused = f"HTTP {response.status}"
                response.read()
                return
            connection.sock.settimeout(READ_TIMEOUT)
            self.refused = None
            fresh = self.last_event_id is None
            if fresh:
                # Events before this connection are not replayed: copies from before it are
                # of unknown age until checked again.
                self.epoch += 1
            self.connected = True
            if fresh:
                self.client._revalidate_namespace(self.namespace)
            event: dict = {}
            while not self._stop.is_set():
                line = response.readline()
                if not line:
                    return
                line = line.decode().rstrip("\r\n")
                if not line:
                    if "event" in event:
                        yield event
                    event = {}
                elif not line.startswith(":"):
                    field, _, value = line.partition(":")
                    event[field] = value.removeprefix(" ")
        finally:
            self.connected = False
            self._connection = None
            connection.close()

    def _hear(self, event: dict) -> None:
        if event.get("id", "").isdigit():
            self.last_event_id = int(event["id"])
        self.events += 1
        if event.get("event") != "live":
            return  # a scheduled version changes nothing until its `live` event
        key = json.loads(event.get("data") or "{}").get("key")
        self._generations[key] = self._generations.get(key, 0) + 1
        self._generations[None] = self._generations.get(None, 0) + 1
        self.client._refresh_after_event(self.namespace, key)
