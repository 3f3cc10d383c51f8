"""bench.settings for bench/pages.py: static file addresses without a collectstatic manifest
(the pages are timed, not their static files)."""

from bench.settings import *  # noqa: F403
from bench.settings import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
