"""A tiny Config Console stand-in for the client's unit tests: serves documents, honours
If-None-Match, and records every request. Given `forward_to`, it passes requests on to a real
server instead: a gateway that a test can switch off."""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "cc_good-token"


class StubServer:
    def __init__(self, forward_to=None):
        self.forward_to = forward_to
        self.documents: dict[str, tuple[str, bytes]] = {}  # path → (ETag, body)
        self.failures: dict[str, tuple[int, dict[str, str], bytes]] = {}  # path → answer
        self.requests: list[dict] = []  # {"path", "headers"} of each request, in order
        self.delay = 0.0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        self._running = True

    def stop(self):
        """Stop answering and close the port: connections are refused from now on."""
        if self._running:
            self._server.shutdown()
            self._server.server_close()
            self._running = False

    def publish(self, namespace, key, value, version, *, query=""):
        document = {
            "namespace": namespace,
            "key": key,
            "version": version,
            "value": value,
            "effective_at": "2026-01-01T00:00:00Z",
            "published_at": "2026-01-01T00:00:00Z",
            "published_by": "alice",
            "schema": None,
        }
        self.serve(f"/api/v1/configs/{namespace}/{key}/{query}", document)

    def publish_bundle(self, namespace, values):
        configs = {
            key: {"version": 1, "value": value, "effective_at": "2026-01-01T00:00:00Z"}
            for key, value in values.items()
        }
        self.serve(
            f"/api/v1/namespaces/{namespace}/bundle/", {"namespace": namespace, "configs": configs}
        )

    def serve(self, path, document):
        body = json.dumps(document).encode()
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        self.documents[path] = (etag, body)
        self.failures.pop(path, None)

    def fail(self, path, status, body=None, headers=None):
        body = json.dumps(body if body is not None else {"detail": "Server failure."}).encode()
        self.failures[path] = (status, headers or {}, body)

    def requests_to(self, path):
        return [request for request in self.requests if request["path"] == path]

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                stub.requests.append({"path": self.path, "headers": dict(self.headers)})
                if stub.delay:
                    time.sleep(stub.delay)
                if stub.forward_to:
                    return self._forward()
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._answer(401, {}, b'{"detail": "Invalid token."}')
                if self.path in stub.failures:
                    return self._answer(*stub.failures[self.path])
                if self.path not in stub.documents:
                    return self._answer(404, {}, b'{"detail": "No such config, or no access."}')
                etag, body = stub.documents[self.path]
                if self.headers.get("If-None-Match") == etag:
                    return self._answer(304, {"ETag": etag}, b"")
                return self._answer(200, {"ETag": etag}, body)

            def _forward(self):
                host = stub.forward_to.removeprefix("http://")
                connection = http.client.HTTPConnection(host, timeout=10)
                names = ("Authorization", "If-None-Match", "Accept", "User-Agent")
                headers = {name: self.headers[name] for name in names if name in self.headers}
                connection.request("GET", self.path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                connection.close()
                passed = {"ETag", "Retry-After", "Location"}
                kept = {name: value for name, value in response.getheaders() if name in passed}
                self._answer(response.status, kept, body)

            def _answer(self, status, headers, body):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):
                pass

        return Handler
