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

# The suite's tests run inside transactions the change feed never hears about; the tests of
# reads from memory turn it on with committed data.
READS_FROM_MEMORY = False

# Queued tasks stay in memory; webhook tests run the deliveries themselves, attempt by attempt.
TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
