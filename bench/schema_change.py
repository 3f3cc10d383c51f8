"""`make bench-schema`: opening and publishing a schema change on a schema 10,000 configs use.

`bench/schema_change.py postgresql` (the default) drops and recreates the PostgreSQL database
`BENCH_SCHEMA_DATABASE` (default `configconsole_benchschema`) on `BENCH_DATABASE_URL_BASE`
(default `postgres://postgres@127.0.0.1:5432`); `bench/schema_change.py sqlite` uses a new
SQLite file in a temporary folder instead. Either way it migrates the database, seeds the demo,
and adds `BENCH_SCHEMA_CONFIGS` (default 10,000) configs on the demo's `company-timezones`
schema, each with a live version (values drawn from a few hundred distinct ones, as real configs
repeat themselves) and one in a hundred with a scheduled version too, plus a webhook of
`data-pipelines` that asks for every version event (so each publish writes its delivery).

Then it times, `BENCH_SCHEMA_RUNS` times (default 3), each rolled back:
- what a person waits for when submitting a schema change that adds a required field with a
  default: checking every live and scheduled value and opening the change request with every
  config's migrated value;
- publishing that change once approved (a few days ahead, after the scheduled versions in the
  way): the schema version and every config's new version, with their change-feed events and
  webhook deliveries, counting the queries it makes;
and publishing it once more for real, committed and followed by what runs on commit, then
checks what it wrote. Prints the median and each run.

Around that publish it also times what a reviewer reads of the change, through Django's test
client and the whole middleware stack (debug off), before publishing (approved) and after
(published): its console page (`/changes/<id>/`, values 25 a page) and its API read
(`GET /api/v1/change-requests/<id>/`, every item with its value), each requested once to warm
up and then `BENCH_SCHEMA_RUNS` times, with the queries of one request and the response's size.
"""

from __future__ import annotations

import atexit
import io
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import django
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore", message="No directory at")

TIMEZONES = ["UTC", "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Tokyo"]


class Rollback(Exception):
    pass


class Refused(Exception):
    pass


def create_database(base: str, name: str) -> None:
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def value(rng: random.Random) -> dict:
    companies = rng.randint(1, 4)
    return {
        "companies": [
            {"company_id": f"company-{rng.randint(0, 40)}", "timezone": rng.choice(TIMEZONES)}
            for _ in range(companies)
        ]
    }


def generate(count: int) -> None:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from configs.models import Config, Namespace, Schema, Version, canonical_json

    schema = Schema.objects.get(name="company-timezones")
    schema_version = schema.versions.order_by("-number").first()
    namespace = Namespace.objects.get(slug="data-pipelines")
    bob = get_user_model().objects.get(username="bob")
    rng = random.Random(10)
    pool = [value(rng) for _ in range(300)]
    configs = Config.objects.bulk_create(
        [
            Config(namespace=namespace, key=f"tz-{n:05d}", name=f"Timezones {n}", schema=schema)
            for n in range(count)
        ],
        batch_size=2000,
    )
    now = timezone.now()
    versions = []
    for n, config in enumerate(configs):
        for number, at in [(1, now - timedelta(days=30))] + (
            [(2, now + timedelta(days=3))] if n % 100 == 0 else []
        ):
            chosen = rng.choice(pool)
            versions.append(
                Version(
                    config=config,
                    number=number,
                    value=chosen,
                    value_json=canonical_json(chosen),
                    effective_at=at,
                    published_at=now,
                    published_by=bob,
                    schema=schema,
                    schema_version=schema_version,
                    reason="bench",
                )
            )
    Version.objects.bulk_create(versions, batch_size=2000)  # rows as publishing writes them
    # A receiver of every version event: each publish writes (and queues) its delivery.
    from push.models import Webhook
    from push.webhooks import encrypt_secret

    Webhook.objects.create(
        namespace=namespace,
        url="https://hooks.example.com/config-console",
        events=[Webhook.Event.PUBLISHED, Webhook.Event.SCHEDULED],
        secret_encrypted=encrypt_secret("whsec_bench"),
        created_by=bob,
    )


def new_body() -> dict:
    import copy

    from configs.models import Schema

    body = copy.deepcopy(Schema.objects.get(name="company-timezones").body)
    item = body["properties"]["companies"]["items"]
    item["properties"]["owner_team"] = {"type": "string", "title": "Owner team", "default": "data"}
    item["required"] = [*item["required"], "owner_team"]
    return body


def open_change():
    from django.contrib.auth import get_user_model

    from configs.models import Schema
    from reviews.services import schema_change_open

    return schema_change_open(
        schema=Schema.objects.get(name="company-timezones"),
        author=get_user_model().objects.get(username="carol"),
        body=new_body(),
        base_version=1,
        title="Every company has an owner team",
    )


@contextmanager
def counting():
    """Counts the statements sent to the database meanwhile (without debug's query log)."""
    from django.db import connection

    count = [0]

    def wrapper(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield count


def measure_open(runs: int) -> list[float]:
    from django.db import transaction

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        try:
            with transaction.atomic():
                change = open_change()
                times.append(time.perf_counter() - started)
                items = change.changes.filter(config__isnull=False).count()
                raise Rollback
        except Rollback:
            pass
    print(f"items per change request: {items}")
    return times


def readers():
    """bob's console session and his API token (both reviewers of data-pipelines)."""
    import logging

    from django.contrib.auth import get_user_model
    from django.test import Client

    from configs import services
    from configs.models import Namespace

    bob = get_user_model().objects.get(username="bob")
    logging.getLogger("axes").setLevel(logging.WARNING)  # its login notes are not results
    console = Client()
    console.force_login(bob)
    _token, secret = services.token_create(
        user=bob, name="bench-schema", namespaces=list(Namespace.objects.all()), actor=bob
    )
    return console, Client(headers={"Authorization": f"Bearer {secret}"})


def measure_reads(change, runs: int, when: str) -> None:
    """The change's console page and API read: median time, queries of one request, bytes."""
    console, api = readers()
    for what, client, path in [
        ("console page", console, f"/changes/{change.pk}/"),
        ("API read", api, f"/api/v1/change-requests/{change.pk}/"),
    ]:
        try:
            print(f"{what} ({when}, {path}): {measure_read(client, path, runs)}")
        except Refused as refused:
            print(f"{what} ({when}, {path}): {refused}")


def measure_read(client, path: str, runs: int) -> str:
    def get() -> bytes:
        response = client.get(path)
        if response.status_code != 200:
            raise Refused(f"answered {response.status_code}")
        return response.content

    get()  # warm
    with counting() as queries:
        size = len(get())
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        get()
        times.append(time.perf_counter() - started)
    return (
        f"median {statistics.median(times) * 1000:,.0f} ms (runs: "
        f"{', '.join(f'{t * 1000:,.0f}' for t in times)}), {queries[0]} queries, {size:,} bytes"
    )


def measure_publish(runs: int) -> tuple[list[float], list[int], float]:
    """Each run's time and query count (rolled back), then the time of a committed publish;
    the change's page and API read are timed before and after it."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from reviews.services import change_request_approve, change_request_publish

    bob = get_user_model().objects.get(username="bob")
    change = open_change()
    change_request_approve(change_request=change, reviewer=bob)
    measure_reads(change, runs, "approved")
    # After the scheduled versions (3 days ahead): they are in the way of publishing now.
    effective_at = timezone.now() + timedelta(days=4)
    times, queries = [], []
    for _ in range(runs):
        started = time.perf_counter()
        try:
            with transaction.atomic(), counting() as count:
                change_request_publish(change_request=change, actor=bob, effective_at=effective_at)
                times.append(time.perf_counter() - started)
                queries.append(count[0])
                raise Rollback
        except Rollback:
            pass
    started = time.perf_counter()
    change_request_publish(change_request=change, actor=bob, effective_at=effective_at)
    committed = time.perf_counter() - started
    check_published(change, effective_at)
    measure_reads(change, runs, "published")
    return times, queries, committed


def check_published(change, effective_at) -> None:
    """What the committed publish wrote: every item's version, its feed event and delivery."""
    from django.core.management import call_command

    from configs.models import Version
    from push.models import ChangeEvent, WebhookDelivery

    change.refresh_from_db()
    config_changes = change.changes.filter(config__isnull=False)
    items = config_changes.count()
    new = Version.objects.filter(effective_at=effective_at, reason=change.title)
    events = ChangeEvent.objects.filter(version__in=new, kind="scheduled").count()
    deliveries = WebhookDelivery.objects.filter(change_event__version__in=new).count()
    assert change.status == "published", change.status
    assert new.count() == items == events == deliveries, (new.count(), items, events, deliveries)
    assert not config_changes.filter(published_version__isnull=True).exists()
    call_command("verify_audit", stdout=io.StringIO())
    print(
        f"committed publish wrote {items} versions, {events} change-feed events and "
        f"{deliveries} webhook deliveries; the audit chain verifies"
    )


def use_database(engine: str) -> str:
    if engine == "sqlite":
        folder = tempfile.mkdtemp(prefix="bench-schema-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
        return "SQLite (a temporary file)"
    base = os.environ.get("BENCH_DATABASE_URL_BASE", "postgres://postgres@127.0.0.1:5432")
    name = os.environ.get("BENCH_SCHEMA_DATABASE", "configconsole_benchschema")
    create_database(base, name)
    os.environ["DATABASE_URL"] = f"{base}/{name}"
    return f"PostgreSQL ({name})"


def figures(times: list[float]) -> str:
    return f"median {statistics.median(times):.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)})"


def main() -> None:
    engine = sys.argv[1] if len(sys.argv) > 1 else "postgresql"
    if engine not in ("postgresql", "sqlite"):
        sys.exit("usage: bench/schema_change.py [postgresql|sqlite]")
    count = int(os.environ.get("BENCH_SCHEMA_CONFIGS", "10000"))
    runs = int(os.environ.get("BENCH_SCHEMA_RUNS", "3"))
    where = use_database(engine)
    # The pages' settings: static file addresses without a collectstatic manifest.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.pages_settings")
    os.environ.setdefault("DJANGO_SSL_REDIRECT", "0")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("EMAIL_URL", "locmem://")
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT", "0")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    started = time.perf_counter()
    generate(count)
    print(
        f"{where}: generated {count} configs on company-timezones in "
        f"{time.perf_counter() - started:.1f} s"
    )
    print(f"open a schema change request on {count + 1} configs: {figures(measure_open(runs))}")
    times, queries, committed = measure_publish(runs)
    print(f"publish it (rolled back): {figures(times)}, {statistics.median(queries):,.0f} queries")
    print(f"publish it (committed, with what runs on commit): {committed:.2f} s")


if __name__ == "__main__":
    main()
