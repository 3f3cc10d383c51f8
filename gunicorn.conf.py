"""The deployment: `gunicorn -c gunicorn.conf.py` on every app server (README "Deploying").

One kind of worker serves everything on one port: uvicorn workers (ASGI), so a watch stream stays
open for the cost of a coroutine and a long download streams to its end, and a warm token read
is answered in the event loop from memory (configs/api/hot.py). `make run`, `make
bench`, CI's schemathesis run and the tests that start a live server all use this file; flags
given on the command line win over it (`--bind`, `--workers`, `--timeout`), and they only ever
change where it listens, how many workers, and how long before a stuck one is replaced.

The environment may set: PORT (8000), WEB_CONCURRENCY (the worker count; default one per core
plus one), GUNICORN_TIMEOUT (30 s). Database connections: each worker holds at most
DATABASE_POOL_SIZE of them (see the README's formula), so the worker count is part of that budget.
"""

import gc
import os

wsgi_app = "configconsole.asgi:application"
worker_class = "uvicorn_worker.UvicornWorker"

bind = [f"0.0.0.0:{os.environ.get('PORT', '8000')}"]
# The hot path is CPU work in the event loop: one process per core, plus one to keep both busy
# while another waits on PostgreSQL (measured with `make bench` on 2 cores: 3 workers).
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)

# A worker that stops answering gunicorn's heartbeat this long is killed and replaced. uvicorn
# workers beat from the event loop, so a long download or an open stream never trips it; a
# request waiting on the database gives up sooner (DATABASE_ANSWER_TIMEOUT, 7 s by default).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM (a deploy) a worker stops accepting, finishes the requests in flight, and is killed
# after this many seconds: watch streams end then, and their clients resume with Last-Event-ID.
graceful_timeout = 20
# Seconds an idle keep-alive connection from the proxy stays open.
keepalive = 5
# Heartbeat files in memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Which proxies to believe about the client's address and scheme is Django's decision
# (DJANGO_NUM_PROXIES, DJANGO_TRUST_X_FORWARDED_PROTO): uvicorn rewrites nothing.
forwarded_allow_ips = ""
# No runtime control socket (gunicornc): several app servers on one machine (tests, `make bench`)
# would otherwise all claim the same socket path.
control_socket_disable = True


def post_worker_init(worker):
    """Before a worker takes requests: import every view and open its database pool
    (configconsole/warmup.py), so its first request is not the one that pays for them.

    Then every object loaded so far (Django, the apps, the URLconf: about 250,000) is moved out of
    the garbage collector's sight with gc.freeze(). They live as long as the worker, and a full
    collection that walks them all stalls the event loop, and every request in it, for 100-200 ms
    (measured on this project's worker); it came every few seconds under load, putting the
    token read's p99 over 20 ms. Objects made afterwards are still collected."""
    from configconsole.warmup import warm_up

    warm_up()
    gc.freeze()
