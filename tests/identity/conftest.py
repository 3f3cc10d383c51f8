"""A real OpenID provider (node's oidc-provider, tests/identity/provider/provider.mjs), started
for a test and pointed at the console's live server."""

import copy
import json
import os
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from identity import oidc

PROVIDER = Path(__file__).parent / "provider" / "provider.mjs"
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class People:
    """Who can sign in at the provider, and with which claims (read at every sign-in)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.claims: dict[str, dict] = {}
        self.save()

    def add(self, login: str, **claims) -> None:
        self.claims[login] = claims
        self.save()

    def save(self) -> None:
        self.path.write_text(json.dumps(self.claims))


@pytest.fixture
def provider(live_server, settings, tmp_path):
    port = _free_port()
    people = People(tmp_path / "people.json")
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENT_ID": "config-console",
        "CLIENT_SECRET": "tests-only-client-secret",
        "REDIRECT_URI": f"{live_server.url}/oidc/callback/",
        "POST_LOGOUT_URI": f"{live_server.url}/accounts/login/",
        "PEOPLE_FILE": str(people.path),
    }
    process = subprocess.Popen(
        ["node", str(PROVIDER)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("ready"), f"the OpenID provider did not start: {line!r}"
        issuer = f"http://127.0.0.1:{port}"
        settings.OIDC_ISSUER = issuer
        settings.OIDC_RP_CLIENT_ID = env["CLIENT_ID"]
        settings.OIDC_RP_CLIENT_SECRET = env["CLIENT_SECRET"]
        settings.OIDC_PROVIDER_NAME = "Acme SSO"
        settings.OIDC_RP_SCOPES = "openid email profile groups"
        policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
        policy["DIRECTIVES"]["form-action"].append(issuer)
        settings.CONTENT_SECURITY_POLICY = policy
        oidc.forget_discovery()
        yield people
    finally:
        oidc.forget_discovery()
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def sso_page(page):
    """A browser tab that reaches only this machine (the provider's pages load a web font)."""
    page.route(
        lambda url: urlsplit(url).hostname not in {"127.0.0.1", "localhost"},
        lambda route: route.abort(),
    )
    return page
