"""The production settings plus the two bench-only endpoints (bench/urls.py).

bench/run sets the environment (DATABASE_URL, REDIS_URL, DJANGO_DEBUG=0, ...)."""

import os

from configconsole.settings import *  # noqa: F403
from configconsole.settings import CACHES

ROOT_URLCONF = "bench.urls"

# One cache key prefix per run: a reset database must not meet values cached by an earlier run
# in the shared Redis database, and nothing of ours is left for anyone else to trip on.
CACHES["default"]["KEY_PREFIX"] = os.environ.get("BENCH_CACHE_PREFIX", "configconsole-bench")
