"""The project's settings, with development defaults for anything the environment leaves unset.

Tests exercise the real settings module; only debug-mode defaults (no HTTPS redirect, a local
secret key) differ, exactly as for `make run`.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from configconsole.settings import *  # noqa: E402,F403

# Hashing demo passwords at full strength would dominate the suite's run time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests write the recorded consumers themselves (consumers.flush()), inside their transaction.
CONSUMER_FLUSH_SECONDS = 0
