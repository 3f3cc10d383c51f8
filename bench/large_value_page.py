"""`make bench-large-value`: the change request page for the largest value the API accepts.

Builds a throwaway SQLite database with the demo, proposes a 1 MiB value for
data-pipelines/company-timezones (about 23,000 companies), then requests its change request
page as a reviewer through Django's test client and the full middleware stack, with debug off:
two warm-up requests, then `BENCH_RUNS` (default 7). Prints the median time and the page size;
the targets are under 1 s and under 1 MB.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ONE_MIB = 1024 * 1024


def main() -> None:
    folder = tempfile.mkdtemp(prefix="bench-large-value-")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["DJANGO_SSL_REDIRECT"] = "0"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("EMAIL_URL", "locmem://")
    os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "configconsole.settings"
    django.setup()

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client, override_settings

    from configs.demo import seed
    from configs.models import Config, canonical_json
    from reviews.services import change_request_open

    call_command("migrate", verbosity=0)
    seed()
    config = Config.objects.get(key="company-timezones")
    one = {"company_id": "company-000001", "timezone": "Asia/Tokyo"}
    count = (ONE_MIB - 200 - len('{"companies":[]}')) // (len(canonical_json(one)) + 1)
    companies = [{"company_id": f"company-{n:06d}", "timezone": "Asia/Tokyo"} for n in range(count)]
    assert len(canonical_json({"companies": companies})) <= ONE_MIB
    users = get_user_model().objects
    proposal = change_request_open(
        config=config,
        author=users.get(username="alice"),
        value={"companies": companies},
        title="Every customer",
        base_version=1,
    )
    # Static file addresses without a collectstatic manifest: the page is timed, not its files.
    override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ).enable()
    client = Client()
    client.force_login(users.get(username="bob"))
    url = proposal.get_absolute_url()
    for _ in range(2):
        client.get(url)
    timings, size = [], 0
    for _ in range(int(os.environ.get("BENCH_RUNS", "7"))):
        started = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - started)
        size = len(response.content)
        assert response.status_code == 200, response.status_code
    median_ms = statistics.median(timings) * 1000
    print(f"change request page, 1 MiB value ({len(companies)} companies):")
    print(f"  median {median_ms:.0f} ms over {len(timings)} runs (target < 1000 ms)")
    print(f"  page size {size:,} bytes (target < 1,000,000)")


if __name__ == "__main__":
    main()
