"""Personas and the demo, shared by every test.

alice (editor), bob (reviewer), carol (admin), dave (viewer) in both demo namespaces;
erin has an account but no role anywhere.
"""

import os
import socket
import uuid

import pytest
from django.contrib.auth import get_user_model

# pytest-django's live_server runs the app in a thread while Playwright's sync API holds an
# event loop in the test thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Mark the PostgreSQL test database disposable, so its audit log may be emptied.

    The audit table's triggers refuse TRUNCATE (audit/migrations/0003_append_only.py), but
    Django empties the database after each transactional test with one TRUNCATE of every table.
    The triggers let TRUNCATE through only in a database whose owner set this, on the database
    itself (a session cannot grant it to itself); only the throwaway test database gets it.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            name = connection.ops.quote_name(connection.settings_dict["NAME"])
            cursor.execute(f"ALTER DATABASE {name} SET configconsole.allow_audit_truncate = 'on'")


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


@pytest.fixture(autouse=True)
def _environments_known_for_the_whole_test(monkeypatch):
    """Read the environments afresh for each test, then keep them for all of it.

    A process reads them again every few seconds (configs/environments.py): on a busy machine
    that re-read would fall inside one of two measurements a query-count test compares. A test
    that changes them is seen at once all the same (the model's signals forget them)."""
    from configs import environments

    monkeypatch.setattr(environments, "FRESH_FOR", 3600.0)
    environments.forget()
    yield
    environments.forget()


@pytest.fixture(autouse=True)
def _fresh_read_caches():
    """Forget the API's prepared answers and throttle counts around every test.

    They are kept by version id, and a rolled-back test gives the next one the same ids. The
    environments each process remembers are forgotten too: a rolled-back rename or addition
    sends no signal."""
    from django.core.cache import cache

    from common.throttle import forget_tallies
    from configs import environments
    from configs.api.reads import forget_prepared
    from configs.consumers import forget as forget_consumers
    from configs.ofrep import forget as forget_flags

    forget_prepared()
    forget_flags()
    forget_tallies()
    forget_consumers()
    # Forgotten whole: in a test thread that holds an event loop (Playwright's), every() would
    # otherwise answer the environments of the previous test's database as they were.
    environments._known = ()
    environments.forget()
    cache.clear()
    yield
    environments.forget()
    forget_consumers()
    forget_prepared()
    forget_flags()
    forget_tallies()
    cache.clear()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe closes


@pytest.fixture
def unreachable_redis(settings):
    """The cache is Redis at an address where nothing answers."""
    from common import cache

    settings.CACHES = {
        "default": {
            "BACKEND": "common.cache.AcceleratorRedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    yield
    cache._down_until.clear()


@pytest.fixture
def old_console(transactional_db, request):
    """The database as an earlier release left it: migrated back to the test module's `BEFORE`.
    Yields that release's models; afterwards, whatever the test did, the database is migrated to
    today's release again for the tests after it."""
    from tests.upgrades import migrate_to, upgrade

    yield migrate_to(request.module.BEFORE)
    upgrade()


@pytest.fixture
def one_config_in_two_environments(timezones, alice):
    """alice's set: hooli in staging's company-timezones, initech-2 in production's."""
    from configs.selectors import newest_version
    from reviews import services
    from reviews.services import Proposed
    from tests.values import in_staging, staging, with_company

    return services.change_request_open(
        author=alice,
        title="Onboard hooli, move initech",
        changes=[
            Proposed(
                timezones,
                in_staging(timezones, "hooli"),
                newest_version(timezones, staging()).number,
                environment=staging(),
            ),
            Proposed(timezones, with_company(timezones, "initech-2"), 1),
        ],
    )
