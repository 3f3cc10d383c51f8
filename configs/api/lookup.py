"""The one statement a token request costs: the token, its user, and (when the URL names them)
the token's scope and the user's role in the namespace and the config's live version.

It is written once as SQL, not built by the ORM per request: compiling the equivalent queryset
took longer than running it. On PostgreSQL it runs as a server-side prepared statement (Django's
own psycopg cursors bind parameters on the client and so never prepare); the cursor is still
Django's wrapper, so it is logged and counted like any other query.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.db import connection

from configs.models import ApiToken, Config, Membership, Namespace, Version

TOKEN_FIELDS = [
    "id",
    "user_id",
    "name",
    "prefix",
    "can_write",
    "expires_at",
    "last_used_at",
    "revoked_at",
]


def _sql(with_namespace: bool, with_config: bool) -> str:
    user = get_user_model()
    user_fields = [field.column for field in user._meta.concrete_fields]
    token_table = ApiToken._meta.db_table
    scope_table = ApiToken.namespaces.through._meta.db_table
    columns = [f"t.{column}" for column in TOKEN_FIELDS] + [f"u.{c}" for c in user_fields]
    if with_namespace:
        columns += [
            f"EXISTS (SELECT 1 FROM {scope_table} s JOIN {Namespace._meta.db_table} n"
            " ON n.id = s.namespace_id WHERE s.apitoken_id = t.id AND n.slug = %(namespace)s)",
            f"(SELECT m.role FROM {Membership._meta.db_table} m JOIN {Namespace._meta.db_table} n"
            " ON n.id = m.namespace_id WHERE m.user_id = t.user_id AND n.slug = %(namespace)s)",
        ]
    if with_config:
        columns.append(
            f"(SELECT v.id FROM {Version._meta.db_table} v"
            f" JOIN {Config._meta.db_table} c ON c.id = v.config_id"
            f" JOIN {Namespace._meta.db_table} n ON n.id = c.namespace_id"
            " WHERE n.slug = %(namespace)s AND c.key = %(key)s AND v.cancelled_at IS NULL"
            " AND v.effective_at <= %(now)s ORDER BY v.number DESC LIMIT 1)"
        )
    return (
        f"SELECT {', '.join(columns)} FROM {token_table} t"
        f" JOIN {user._meta.db_table} u ON u.id = t.user_id WHERE t.key_hash = %(hash)s"
    )


_STATEMENTS: dict[tuple[bool, bool], str] = {}


def _statement(with_namespace: bool, with_config: bool) -> str:
    shape = (with_namespace, with_config)
    if shape not in _STATEMENTS:
        _STATEMENTS[shape] = _sql(*shape)
    return _STATEMENTS[shape]


def _cursor():
    if connection.vendor != "postgresql":
        return connection.cursor()
    import psycopg

    # Skips Django's per-request health check (a SELECT 1 round trip) on this hot path: a
    # broken connection fails this request, and Django then drops it at the request's end.
    connection.ensure_connection()
    return connection._prepare_cursor(psycopg.Cursor(connection.connection))


def _aware(value):
    # SQLite hands back naive UTC datetimes for raw queries.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def token_lookup(key_hash: str, namespace: str | None, key: str | None, now: datetime):
    """The token with its user loaded, annotated as described above; None if there is none."""
    with_namespace = bool(namespace)
    with_config = with_namespace and bool(key)
    params = {"hash": key_hash, "namespace": namespace, "key": key, "now": now}
    with _cursor() as cursor:
        cursor.execute(_statement(with_namespace, with_config), params)
        row = cursor.fetchone()
    if row is None:
        return None
    user_model = get_user_model()
    user_fields = [field.attname for field in user_model._meta.concrete_fields]
    count = len(TOKEN_FIELDS)
    token = ApiToken.from_db("default", TOKEN_FIELDS, [_aware(v) for v in row[:count]])
    values = [_aware(v) for v in row[count : count + len(user_fields)]]
    token.user = user_model.from_db("default", user_fields, values)
    extra = row[count + len(user_fields) :]
    token.in_scope = bool(extra[0]) if with_namespace else None
    token.role = extra[1] if with_namespace else None
    token.live_version_id = extra[2] if with_config else None
    return token
