"""Personas and the demo, shared by every test.

alice (editor), bob (reviewer), carol (admin), dave (viewer) in both demo namespaces;
erin has an account but no role anywhere.
"""

import os

import pytest
from django.contrib.auth import get_user_model

# pytest-django's live_server runs the app in a thread while Playwright's sync API holds an
# event loop in the test thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def demo(db):
    """The demo data exactly as `manage.py seed_demo` makes it; returns {username: password}."""
    from configs.demo import seed

    return seed()


def _user(username):
    return get_user_model().objects.get(username=username)


@pytest.fixture
def alice(demo):
    return _user("alice")


@pytest.fixture
def bob(demo):
    return _user("bob")


@pytest.fixture
def carol(demo):
    return _user("carol")


@pytest.fixture
def dave(demo):
    return _user("dave")


@pytest.fixture
def erin(demo):
    return get_user_model().objects.create_user("erin", "erin@example.com", "erin-pass-123")


@pytest.fixture
def timezones(demo):
    """data-pipelines/company-timezones: one approval required."""
    from configs.models import Config

    return Config.objects.select_related("namespace", "schema").get(
        namespace__slug="data-pipelines", key="company-timezones"
    )


@pytest.fixture
def metrics(demo):
    """sales-ops/custom-metrics: no approval required."""
    from configs.models import Config

    return Config.objects.select_related("namespace", "schema").get(
        namespace__slug="sales-ops", key="custom-metrics"
    )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium (Playwright cannot download its own browser here)."""
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }
