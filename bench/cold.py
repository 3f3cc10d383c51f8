"""`make bench-cold`: the first bundle read of a fresh process, and the read path's memory.

Runs against the database `make bench-data SIZE=…` made (bench/.state/benchdata.json, as
bench/pages.py does), with debug off and the local-memory cache (so a new process starts with
nothing prepared anywhere):

1. **Cold bundle**: `BENCH_COLD_RUNS` times (default 3), a new Python process sets Django up,
   connects, and times its first `GET /api/v1/namespaces/<the big namespace>/bundle/` through
   the test client and the whole middleware stack (a token reading every namespace). Target:
   under 300 ms (issue 25).
2. **Memory**: in one process, everything the read path keeps for every config of the
   database: each config's live version, the token check and its scope in every namespace
   (push.memory), each live version's prepared bytes and every namespace's whole bundle
   (configs/api/reads.py), measured with tracemalloc, with the bounds that apply
   (READ_MEMORY_ENTRIES, PREPARED_CACHE_BYTES, BUNDLE_CACHE_BYTES).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pages import STATE_DIR, setup  # noqa: E402

TARGET_MS = 300


def child_cold_bundle(state: dict, secret: str) -> None:
    """One fresh process: the first bundle read, in ms, printed as JSON."""
    started = time.perf_counter()
    setup(state)
    from django.test import Client

    from configconsole.warmup import warm_up

    if os.environ.get("BENCH_COLD_BARE") != "1":
        warm_up()  # as gunicorn.conf.py does in every worker before its first request
    ready = time.perf_counter()
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    path = f"/api/v1/namespaces/{state['big_namespaces'][0]}/bundle/"
    first = time.perf_counter()
    response = client.get(path)
    ms = (time.perf_counter() - first) * 1000
    assert response.status_code == 200, response.status_code
    second = time.perf_counter()
    client.get(path)
    warm_ms = (time.perf_counter() - second) * 1000
    configs = len(json.loads(response.content)["configs"])
    print(
        json.dumps(
            {
                "ms": ms,
                "warm_ms": warm_ms,
                "setup_ms": (ready - started) * 1000,
                "configs": configs,
                "bytes": len(response.content),
            }
        )
    )


def child_memory(state: dict) -> None:
    setup(state)
    from django.conf import settings

    from configs import environments
    from configs.api import reads
    from configs.api.lookup import TokenRow
    from configs.models import Config, Namespace
    from configs.selectors import live_version_ids
    from push.memory import LiveVersion, NamespaceLive, memory

    env = environments.default()
    namespaces = list(Namespace.objects.order_by("slug").values_list("slug", flat=True))
    live = {slug: live_version_ids(namespace=slug) for slug in namespaces}
    configs = sum(len(pairs) for pairs in live.values())
    row = TokenRow(
        id=1,
        user_id=1,
        can_write=False,
        expires_at=None,
        last_used_at=None,
        revoked_at=None,
        user_is_active=True,
        user_is_superuser=False,
        environment_id=None,
    )

    def measured(fill) -> float:
        before = tracemalloc.get_traced_memory()[0]
        fill()
        return (tracemalloc.get_traced_memory()[0] - before) / 1024 / 1024

    def fill_memory():
        # Entries as the token reads make them (push.memory), for one token reading everything.
        key_hash = "x" * 64
        memory.tokens.put(key_hash, row)
        for slug, pairs in live.items():
            memory.scopes.put((key_hash, slug), (True, "viewer"))
            for key, version_id in pairs:
                memory.configs.put((slug, key, env.id), LiveVersion(version_id, None))
            kept = tuple(pairs)
            etag = reads.bundle_etag(kept, env.name)
            memory.bundles.put((slug, env.id), NamespaceLive(kept, etag, None, env.name))

    def fill_prepared():
        for pairs in live.values():
            reads.prepared_many([version_id for _key, version_id in pairs])

    def fill_bundles():
        for slug, pairs in live.items():
            reads.bundle_bytes(slug, env.name, pairs)

    tracemalloc.start()
    read_memory_mb = measured(fill_memory)
    prepared_mb = measured(fill_prepared)
    bundles_mb = measured(fill_bundles)
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "configs": configs,
                "database_configs": Config.objects.count(),
                "namespaces": len(namespaces),
                "read_memory_mb": read_memory_mb,
                "read_memory_entries": len(memory.configs)
                + len(memory.scopes)
                + len(memory.tokens),
                "bundle_live_weight": memory.bundles.weight,
                "prepared_mb": prepared_mb,
                "prepared_kept": len(reads._local),
                "prepared_bytes": reads._local_bytes,
                "bundles_mb": bundles_mb,
                "bundles_kept": len(reads._bundles),
                "bundles_bytes": reads._bundles_bytes,
                "READ_MEMORY_ENTRIES": settings.READ_MEMORY_ENTRIES,
                "PREPARED_CACHE_BYTES": settings.PREPARED_CACHE_BYTES,
                "BUNDLE_CACHE_BYTES": settings.BUNDLE_CACHE_BYTES,
            }
        )
    )


def make_token(state: dict) -> str:
    setup(state)
    from django.contrib.auth import get_user_model

    from configs import services
    from configs.models import Namespace

    bob = get_user_model().objects.get(username="bob")
    _token, secret = services.token_create(
        user=bob, name="bench-cold", namespaces=list(Namespace.objects.all()), actor=bob
    )
    return secret


def run_child(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"the child process failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    state = json.loads((STATE_DIR / "benchdata.json").read_text())
    if len(sys.argv) > 1 and sys.argv[1] == "--child-bundle":
        return child_cold_bundle(state, sys.argv[2])
    if len(sys.argv) > 1 and sys.argv[1] == "--child-memory":
        return child_memory(state)
    secret = make_token(state)
    runs = int(os.environ.get("BENCH_COLD_RUNS", "3"))
    print(
        f"Size {state['size']}: {state['configs']:,} configs; the big namespace "
        f"{state['big_namespaces'][0]}"
    )
    results = [run_child("--child-bundle", secret) for _ in range(runs)]
    ms = statistics.median(r["ms"] for r in results)
    verdict = "PASS" if ms < TARGET_MS else "FAIL"
    each = ", ".join(f"{r['ms']:.0f}" for r in results)
    print(
        f"  cold bundle, first read of a fresh process: {ms:.0f} ms median "
        f"({each}); {results[0]['configs']:,} configs, "
        f"{results[0]['bytes']:,} bytes; target < {TARGET_MS} ms: {verdict}"
    )
    warm = statistics.median(r["warm_ms"] for r in results)
    print(f"  the same process's second read: {warm:.1f} ms")
    kept = run_child("--child-memory")
    total = kept["read_memory_mb"] + kept["prepared_mb"] + kept["bundles_mb"]
    print(
        f"  memory for every config ({kept['configs']:,} live, {kept['namespaces']} namespaces), "
        f"one process: {total:.1f} MiB\n"
        f"    live versions and token checks (push.memory): {kept['read_memory_mb']:.1f} MiB, "
        f"{kept['read_memory_entries']:,} entries + bundles' live versions weighing "
        f"{kept['bundle_live_weight']:,} (bound READ_MEMORY_ENTRIES={kept['READ_MEMORY_ENTRIES']:,}"
        " a kind)\n"
        f"    prepared versions (configs/api/reads.py): {kept['prepared_mb']:.1f} MiB, "
        f"{kept['prepared_kept']:,} kept, {kept['prepared_bytes'] / 2**20:.1f} MiB counted "
        f"(bound PREPARED_CACHE_BYTES={kept['PREPARED_CACHE_BYTES'] / 2**20:.0f} MiB)\n"
        f"    whole bundles: {kept['bundles_mb']:.1f} MiB, {kept['bundles_kept']} kept, "
        f"{kept['bundles_bytes'] / 2**20:.1f} MiB counted "
        f"(bound BUNDLE_CACHE_BYTES={kept['BUNDLE_CACHE_BYTES'] / 2**20:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
