"""The two floors a config read is measured against.

a0: a bare Django view returning the same bytes as the config read, no database.
a1: the same, after the one statement a read that must see every publish at once cannot avoid:
    the live version of the config, by an indexed lookup, as a server-side prepared statement.

Both go through the project's whole middleware stack, like the API does."""

import functools
import json
import os
from pathlib import Path

import psycopg
from django.db import connection
from django.http import HttpResponse, HttpResponseNotFound
from django.utils import timezone

STATE_DIR = Path(os.environ.get("BENCH_STATE_DIR") or Path(__file__).with_name(".state"))


@functools.cache
def fixture() -> tuple[bytes, str, int]:
    """The exact body and content type of the config read, and the config's id, as written by
    bench/prepare.py; read once per worker (bench/prepare.py itself imports this URLconf before
    the file exists)."""
    data = json.loads((STATE_DIR / "fixture.json").read_text(encoding="utf-8"))
    return data["body"].encode("utf-8"), data["content_type"], data["config_id"]


LIVE_VERSION = (
    "SELECT id, number FROM configs_version"
    " WHERE config_id = %s AND cancelled_at IS NULL AND effective_at <= %s"
    " ORDER BY number DESC LIMIT 1"
)


def a0(request):
    body, content_type, _ = fixture()
    return HttpResponse(body, content_type=content_type)


def a1(request):
    body, content_type, config_id = fixture()
    # One statement and nothing else: no health check (conn_health_checks would add a SELECT 1
    # round trip per request), no ORM. Django 5.2's own cursors are psycopg ClientCursors, which
    # never prepare a statement whatever prepare_threshold says (unless OPTIONS has
    # "server_side_binding": True), so this uses a server-binding cursor on Django's connection.
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(LIVE_VERSION, (config_id, timezone.now()), prepare=True)
        row = cursor.fetchone()
    if row is None:
        return HttpResponseNotFound()
    return HttpResponse(body, content_type=content_type)


def _not_recorded(*args, **kwargs) -> None:
    pass


@functools.cache
def _config_read():
    from configs.api.views import ConfigRead, with_hot_path

    return with_hot_path(ConfigRead.as_view(), bare=False)


def unrecorded(request, namespace: str, key: str):
    """The API's token config read with consumer recording switched off, to show what recording
    costs. Swapping the module's function is safe only because bench/run's sync workers serve
    one request at a time per process; nothing outside the benchmark does this."""
    from configs import consumers

    note = consumers.note
    consumers.note = _not_recorded
    try:
        return _config_read()(request, namespace=namespace, key=key)
    finally:
        consumers.note = note
