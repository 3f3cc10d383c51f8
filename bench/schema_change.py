"""`make bench-schema`: the time to open a schema change request on a schema 10,000 configs use.

Drops and recreates the PostgreSQL database `BENCH_SCHEMA_DATABASE` (default
`configconsole_benchschema`) on `BENCH_DATABASE_URL_BASE` (default
`postgres://postgres@127.0.0.1:5432`), migrates it, seeds the demo, and adds
`BENCH_SCHEMA_CONFIGS` (default 10,000) configs on the demo's `company-timezones` schema, each
with a live version (values drawn from a few hundred distinct ones, as real configs repeat
themselves) and one in a hundred with a scheduled version too. Then it times, `BENCH_SCHEMA_RUNS`
times (default 3, each rolled back), what a person waits for when submitting a schema change
that adds a required field with a default: checking every live and scheduled value and opening
the change request with every config's migrated value. Prints the median and each run.
"""

from __future__ import annotations

import io
import os
import random
import secrets
import statistics
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path

import django
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore", message="No directory at")

TIMEZONES = ["UTC", "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Tokyo"]


class Rollback(Exception):
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


def measure(runs: int) -> list[float]:
    import copy

    from django.contrib.auth import get_user_model
    from django.db import transaction

    from configs.models import Schema
    from reviews.schema_changes import schema_change_open

    carol = get_user_model().objects.get(username="carol")
    schema = Schema.objects.get(name="company-timezones")
    body = copy.deepcopy(schema.body)
    item = body["properties"]["companies"]["items"]
    item["properties"]["owner_team"] = {"type": "string", "title": "Owner team", "default": "data"}
    item["required"] = [*item["required"], "owner_team"]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        try:
            with transaction.atomic():
                change = schema_change_open(
                    schema=schema,
                    author=carol,
                    body=body,
                    base_version=1,
                    title="Every company has an owner team",
                )
                times.append(time.perf_counter() - started)
                items = change.items.count()
                raise Rollback
        except Rollback:
            pass
    print(f"items per change request: {items}")
    return times


def main() -> None:
    base = os.environ.get("BENCH_DATABASE_URL_BASE", "postgres://postgres@127.0.0.1:5432")
    name = os.environ.get("BENCH_SCHEMA_DATABASE", "configconsole_benchschema")
    count = int(os.environ.get("BENCH_SCHEMA_CONFIGS", "10000"))
    runs = int(os.environ.get("BENCH_SCHEMA_RUNS", "3"))
    create_database(base, name)
    os.environ["DATABASE_URL"] = f"{base}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "configconsole.settings")
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
        f"generated {count} configs on company-timezones in {time.perf_counter() - started:.1f} s"
    )
    times = measure(runs)
    print(
        f"open a schema change request on {count + 1} configs: median "
        f"{statistics.median(times):.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)})"
    )


if __name__ == "__main__":
    main()
