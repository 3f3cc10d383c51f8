"""The API over a real connection to a running server: what the rest of tests/api (Django's test
client, in process) does not already check. These are the rows of the old bench contract runner
that nothing else covered.

They run against pytest-django's live server on the test database. To run them against any
other server, give its address and a write token for data-pipelines there (a server with the
demo's data-pipelines/company-timezones, e.g. `make run`, or gunicorn on PostgreSQL):

    CONFIG_CONSOLE_TEST_URL=http://127.0.0.1:8000 CONFIG_CONSOLE_TEST_TOKEN=cc_… \\
        .venv/bin/pytest tests/api/test_over_http.py
"""

import os

import pytest
import requests

from tests.api.conftest import make_token

CONFIG = "/api/v1/configs/data-pipelines/company-timezones/"
PROPOSE = CONFIG + "change-requests/"
# Over DJANGO_MAX_BODY_BYTES, 2 MiB unless set.
OVERSIZED = 3 * 1024 * 1024


class Server:
    def __init__(self, base_url: str, token: str):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.base_url + path, timeout=30, allow_redirects=False)

    def post(self, path: str, data: bytes) -> requests.Response:
        return self.session.post(
            self.base_url + path,
            data=data,
            headers={"Content-Type": "application/json"},
            timeout=30,
            allow_redirects=False,
        )


@pytest.fixture
def server(live_server, alice) -> Server:
    base_url = os.environ.get("CONFIG_CONSOLE_TEST_URL")
    if base_url:
        return Server(base_url, os.environ["CONFIG_CONSOLE_TEST_TOKEN"])
    _token, secret = make_token(alice, "data-pipelines", write=True)
    return Server(live_server.url, secret)


def assert_json_error(response: requests.Response, status: int) -> None:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/configs/data-pipelines/no-such-config/value/",
        "/api/v1/configs/data-pipelines/no-such-config/versions/",
        "/api/v1/configs/no-such-namespace/company-timezones/",
    ],
)
def test_the_value_and_versions_of_a_config_that_does_not_exist_are_a_json_404(server, path):
    assert_json_error(server.get(path), 404)


def test_a_body_over_the_servers_limit_is_answered_413_in_json(server):
    body = b'{"value": "' + b"x" * OVERSIZED + b'", "base_version": 1, "title": "t"}'

    response = server.post(PROPOSE, body)

    assert_json_error(response, 413)
    assert "bytes a request may carry" in response.json()["detail"]
