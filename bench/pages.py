"""`make bench-pages`: how long every console page and API list takes at the generated size.

Runs in this process against the database `make bench-data` made (bench/.state/benchdata.json
names it and the things to measure), through Django's test client and the full middleware
stack, with production-like settings (debug off). Each request is made twice to warm up, then
`BENCH_PAGES_RUNS` times (default 7); the figure is the median. The query count is that of
one warm request. `export_configs` is timed once, whole.

Prints the table and writes it into bench/README.md between the `pages` markers.

The cache is this process's local memory unless `BENCH_REDIS_URL` is set (then Redis, with a
key prefix of this run that is deleted at the end).
"""

from __future__ import annotations

import io
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore", message="No directory at")

STATE_DIR = Path(os.environ.get("BENCH_STATE_DIR") or Path(__file__).with_name(".state"))
README = Path(__file__).with_name("README.md")
START, END = "<!-- pages -->", "<!-- /pages -->"
TARGET_MS = 300


def setup(state: dict) -> str:
    base = os.environ.get("BENCH_DATABASE_URL_BASE", "postgres://postgres@127.0.0.1:5432")
    os.environ["DATABASE_URL"] = f"{base}/{state['database']}"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["DJANGO_SSL_REDIRECT"] = "0"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("EMAIL_URL", "locmem://")
    os.environ.setdefault("API_WRITE_RATE", "1000000/min")
    prefix = f"bench-pages-{secrets.token_hex(4)}"
    if os.environ.get("BENCH_REDIS_URL"):
        os.environ["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
        os.environ["BENCH_CACHE_PREFIX"] = prefix
    else:
        os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.pages_settings"
    django.setup()
    return prefix


def measure(client, path: str, runs: int, headers: dict | None = None, cold=None) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = headers or {}

    def get():
        response = client.get(path, **headers)
        body = b"".join(response) if response.streaming else response.content
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}: {body[:300]!r}")
        return body

    if cold:
        cold()
        started = time.perf_counter()
        get()
        cold_ms = (time.perf_counter() - started) * 1000
    else:
        cold_ms = None
    get()
    with CaptureQueriesContext(connection) as queries:
        body = get()
    count = len(queries)  # now: the next request empties the log
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        get()
        times.append((time.perf_counter() - started) * 1000)
    return {
        "ms": statistics.median(times),
        "cold_ms": cold_ms,
        "queries": count,
        "bytes": len(body),
    }


def cases(state: dict) -> list[tuple[str, str, str, dict]]:
    """(what, who, path, headers) for every page and API list."""
    from django.utils import timezone

    from audit.models import AuditEvent
    from common.keyset import cursor_for
    from configs.models import Version
    from reviews.models import ChangeRequest

    hot_ns, hot_key = state["hot_config"].split("/")
    big = state["big_namespaces"][0]
    hot = f"/configs/{hot_ns}/{hot_key}/"
    in_review = ChangeRequest.objects.filter(changes__config__key=hot_key, status="in_review")
    open_cr = in_review.order_by("-id").first()
    api = "/api/v1"
    # Deep pages, reached by the cursor the page before would give (keyset: no page numbers).
    # Found here with an OFFSET once; the request itself starts from the cursor.
    numbers = Version.objects.filter(config__namespace__slug=hot_ns, config__key=hot_key)
    numbers = list(numbers.order_by("-number").values_list("number", flat=True)[49_999:50_000])
    history_deep = cursor_for(numbers or [1], backwards=False)
    event = AuditEvent.objects.order_by("-at", "-id").values_list("at", "id")[99_999:100_000]
    audit_deep = cursor_for(list(event[0]) if event else [timezone.now(), 1], backwards=False)
    mine = ChangeRequest.objects.filter(author__username="alice").order_by("-updated_at", "-id")
    mine_at = mine.count() * 9 // 10
    mine_row = list(mine.values_list("updated_at", "id")[mine_at : mine_at + 1])
    mine_deep = cursor_for(list(mine_row[0]) if mine_row else [timezone.now(), 1], backwards=False)
    return [
        ("dashboard", "bob", "/", {}),
        ("inbox", "bob", "/changes/inbox/", {}),
        ("my changes", "alice", "/changes/mine/", {}),
        ("my changes, nine tenths down", "alice", f"/changes/mine/?cursor={mine_deep}", {}),
        ("config list", "bob", "/configs/", {}),
        ("config list, big namespace", "bob", f"/configs/?namespace={big}", {}),
        ("config page, hot config", "bob", hot, {}),
        ("config history, hot config", "bob", f"{hot}history/", {}),
        (
            "config history, hot config, 1,000 pages down",
            "bob",
            f"{hot}history/?cursor={history_deep}",
            {},
        ),
        ("version page, hot config", "bob", f"{hot}versions/2/", {}),
        ("change request page", "bob", f"/changes/{open_cr.pk}/", {}),
        ("schema list", "bob", "/schemas/", {}),
        ("schema page, big schema", "bob", f"/schemas/{state['big_schema']}/", {}),
        ("audit log", "bob", "/audit/", {}),
        ("audit log, actor=bob", "bob", "/audit/?actor=bob", {}),
        ("audit log, action=published", "bob", "/audit/?action=change_request.published", {}),
        ("audit log, namespace", "bob", f"/audit/?namespace={big}", {}),
        ("audit log, 2,000 pages down", "bob", f"/audit/?cursor={audit_deep}", {}),
        (
            "audit log, small namespace",
            "bob",
            f"/audit/?namespace={state['small_namespace']}",
            {},
        ),
        ("tokens", "carol", "/tokens/", {}),
        ("API config read, hot", "token", f"{api}/configs/{hot_ns}/{hot_key}/", {}),
        ("API versions list, hot", "token", f"{api}/configs/{hot_ns}/{hot_key}/versions/", {}),
        (
            "API versions list, hot, 1,000 pages down",
            "token",
            f"{api}/configs/{hot_ns}/{hot_key}/versions/?cursor={history_deep}",
            {},
        ),
        ("API audit", "token", f"{api}/audit/", {}),
        ("API audit, 2,000 pages down", "token", f"{api}/audit/?cursor={audit_deep}", {}),
        ("API audit, actor=bob", "token", f"{api}/audit/?actor=bob", {}),
        ("API change request", "token", f"{api}/change-requests/{open_cr.pk}/", {}),
        ("API bundle, big namespace", "token", f"{api}/namespaces/{big}/bundle/", {}),
        (
            "API bundle, 2nd big namespace",
            "token",
            f"{api}/namespaces/{state['big_namespaces'][1]}/bundle/",
            {},
        ),
        (
            "audit CSV, small namespace",
            "bob",
            f"/audit/export.csv?namespace={state['small_namespace']}",
            {},
        ),
    ]


def time_export(runs: int = 1) -> dict:
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with tempfile.TemporaryDirectory() as folder:
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            call_command("export_configs", folder, stdout=io.StringIO())
            ms = (time.perf_counter() - started) * 1000
    return {"ms": ms, "cold_ms": None, "queries": len(queries), "bytes": 0}


def main() -> None:
    state = json.loads((STATE_DIR / "benchdata.json").read_text())
    prefix = setup(state)
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import Client

    from configs import services
    from configs.api import reads
    from configs.models import Namespace

    runs = int(os.environ.get("BENCH_PAGES_RUNS", "7"))
    users = get_user_model().objects
    bob = users.get(username="bob")
    clients = {}
    for name in ("bob", "alice", "carol"):
        client = Client()
        client.force_login(users.get(username=name))
        clients[name] = client
    _token, secret = services.token_create(
        user=bob,
        name="bench-pages",
        namespaces=list(Namespace.objects.all()),
        actor=bob,
    )
    clients["token"] = Client(headers={"Authorization": f"Bearer {secret}"})

    def cold_bundles():
        reads.forget_prepared()
        cache.clear() if not os.environ.get("BENCH_REDIS_URL") else None

    rows = []
    print(
        f"Size {state['size']}: {state['configs']:,} configs, {state['versions']:,} versions, "
        f"{state['audit_events']:,} audit events, {state['change_requests']:,} change requests"
    )
    for what, who, path, headers in cases(state):
        cold = cold_bundles if "bundle" in what else None
        result = measure(clients[who], path, runs, headers, cold=cold)
        rows.append((what, path, result))
        print(f"  {result['ms']:8.1f} ms  {result['queries']:3d} q  {what}", flush=True)
    # Both big bundles warm at once: the second must not have pushed the first out.
    bundle_rows = [r for r in rows if r[0].startswith("API bundle")]
    first_path = bundle_rows[0][1]
    again = measure(clients["token"], first_path, runs)
    rows.append(("API bundle, big namespace, after the 2nd", first_path, again))
    rows.append(("export_configs (whole database)", "manage.py export_configs", time_export()))
    table = render(state, rows)
    print(table)
    write_readme(state, table)
    if os.environ.get("BENCH_REDIS_URL"):
        cache.delete_pattern(f"{prefix}*") if hasattr(cache, "delete_pattern") else None


def render(state: dict, rows) -> str:
    lines = [
        f"Size {state['size']}: {state['configs']:,} configs, {state['versions']:,} versions, "
        f"{state['audit_events']:,} audit events, {state['change_requests']:,} change requests.",
        "",
        "| request | median ms (warm) | cold ms | queries | bytes |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for what, path, r in rows:
        cold = f"{r['cold_ms']:.0f}" if r["cold_ms"] is not None else ""
        # Downloads (exports) are timed whole: the target is for pages and API answers.
        download = what.startswith(("export", "audit CSV"))
        flag = "" if r["ms"] < TARGET_MS or download else " **over**"
        lines.append(
            f"| {what} (`{path}`) | {r['ms']:.1f}{flag} | {cold} | {r['queries']} | "
            f"{r['bytes']:,} |"
        )
    return "\n".join(lines)


def write_readme(state: dict, table: str) -> None:
    """Replace this size's table between the markers, keeping the other sizes' tables."""
    text = README.read_text()
    if START not in text:
        return
    head, rest = text.split(START, 1)
    inside, tail = rest.split(END, 1)
    blocks = {}
    for block in inside.split("\n### Size ")[1:]:
        blocks[block[0]] = "### Size " + block.strip()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    blocks[state["size"]] = f"### Size {state['size']}, run of {stamp}\n\n{table}"
    body = "\n\n".join(blocks[size] for size in "SML" if size in blocks)
    README.write_text(f"{head}{START}\n{body}\n{END}{tail}")


if __name__ == "__main__":
    main()
