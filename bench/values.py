"""`make bench-values`: the largest value a config accepts, timed through every step that walks it.

The value is CONFIG_MAX_VALUE_BYTES (1 MiB by default) of tiny arrays, `{"rows": [[0], [1], …]}`,
the shape that costs the most per byte (about 240,000 nodes). Each step is timed on its own, in
this process, with a throwaway SQLite database and the demo data: parsing the request body,
validating (without a schema and with one), diffing against the previous value, and the whole
API request that proposes it. Target: validation and diffing each under 1 s; a value one byte
larger is refused before any of them (413).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SCHEMA = {
    "type": "object",
    "properties": {
        "rows": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}
    },
}


def largest_value(limit: int) -> dict:
    from configs.validation import serialized_size

    rows: list[list[int]] = []
    value = {"rows": rows}
    # Each [n] adds 4 bytes (3 and a comma); fill, then trim to the limit.
    rows.extend([n % 10] for n in range((limit - 11) // 4))
    while serialized_size(value) > limit:
        rows.pop()
    return value


def timed(label: str, step, target: float | None = None) -> None:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    verdict = "" if target is None else ("  ok" if median < target else f"  OVER {target:g} s")
    rounds = " ".join(f"{t:.3f}" for t in times)
    print(f"{label:<48} {median:7.3f} s   rounds: {rounds}{verdict}")


def main() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0)

    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from common.jsontext import parse_json
    from configs.demo import seed
    from configs.diff import diff_values, first_changes
    from configs.models import Namespace
    from configs.services import token_create
    from configs.validation import serialized_size, validate_value
    from reviews.services import AUDITED_CHANGES
    from reviews.views import CHANGES_SHOWN

    seed()
    value = largest_value(settings.CONFIG_MAX_VALUE_BYTES)
    body = json.dumps({"value": value, "base_version": 1, "title": "Largest"}).encode()
    previous = json.loads(json.dumps(value))
    previous["rows"][len(previous["rows"]) // 2] = [42]  # one change, in the middle
    print(
        f"value: {serialized_size(value):,} bytes, {len(value['rows']):,} arrays "
        f"(CONFIG_MAX_VALUE_BYTES {settings.CONFIG_MAX_VALUE_BYTES:,}); {ROUNDS} rounds, median"
    )

    timed("parse the request body (strict JSON)", lambda: parse_json(body))
    timed("validate, no schema (size + credentials)", lambda: validate_value(value, None), 1.0)
    timed("validate against a schema", lambda: validate_value(value, SCHEMA), 1.0)
    timed("diff against the previous value (one change)", lambda: diff_values(previous, value), 1.0)
    timed(
        "diff against a small value, as submitting describes it (first 1,000 changes)",
        lambda: first_changes({"rows": []}, value, limit=AUDITED_CHANGES),
        1.0,
    )
    timed(
        "diff against a small value, the change request page (first 200 changes)",
        lambda: first_changes({"rows": []}, value, limit=CHANGES_SHOWN),
        1.0,
    )
    timed(
        "diff against a small value, every change ('show all')",
        lambda: diff_values({"rows": []}, value),
    )

    alice = get_user_model().objects.get(username="alice")
    settings.API_WRITE_RATE = ""
    _token, secret = token_create(
        user=alice,
        name="bench",
        namespaces=list(Namespace.objects.filter(slug="sales-ops")),
        write=True,
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    url = "/api/v1/configs/sales-ops/legacy-fields/change-requests/"

    def propose():
        response = api.generic("POST", url, body, content_type="application/json")
        assert response.status_code in {201, 400, 409}, response.content[:300]

    timed("POST …/change-requests/ with it (whole request)", propose)
    too_big = json.dumps(
        {"value": {"rows": value["rows"] + [[1]]}, "base_version": 1, "title": "Too big"}
    )

    def refuse():
        response = api.generic("POST", url, too_big, content_type="application/json")
        assert response.status_code == 413, response.status_code

    timed("… one array more: refused with 413", refuse)


if __name__ == "__main__":
    main()
