"""The one statement a token request costs: the token, its user, and (when the URL names them)
the token's scope and the user's role in the namespace and the config's live version.

It is written once as SQL, not built by the ORM per request: compiling the equivalent queryset
took longer than running it. On PostgreSQL it runs as a server-side prepared statement (Django's
own psycopg cursors bind parameters on the client and so never prepare); the cursor is still
Django's wrapper, so it is logged and counted like any other query.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError, connection

from configs import environments
from configs.models import ApiToken, Config, Membership, Namespace, Version

# What every request needs to know about the token and its user, in this order.
CORE = [
    "t.id",
    "t.user_id",
    "t.can_write",
    "t.expires_at",
    "t.last_used_at",
    "t.revoked_at",
    "u.is_active",
    "u.is_superuser",
    "t.environment_id",
]


@dataclass(slots=True)
class TokenRow:
    """A looked-up token, as plain values; `token_model()` makes the ORM objects when needed."""

    id: int
    user_id: int
    can_write: bool
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    user_is_active: bool
    user_is_superuser: bool
    environment_id: int | None  # the environment it reads; None: the default one
    in_scope: bool | None = None
    role: str | None = None
    live_version_id: int | None = None
    name: str = ""
    user_values: tuple[Any, ...] = ()

    def token_model(self) -> ApiToken:
        """The token as an ApiToken with its user loaded, for code that works with models."""
        user_model, user_fields = _user_shape()
        known = {
            "id": self.id,
            "user_id": self.user_id,
            "name": self.name,
            "can_write": self.can_write,
            "expires_at": self.expires_at,
            "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at,
            "environment_id": self.environment_id,
        }
        # from_db() takes the values in the model's field order; the others stay deferred.
        names = [f.attname for f in ApiToken._meta.concrete_fields if f.attname in known]
        token = ApiToken.from_db("default", names, [known[name] for name in names])
        token.user = user_model.from_db("default", user_fields, list(self.user_values))
        token.in_scope, token.role, token.live_version_id = (
            self.in_scope,
            self.role,
            self.live_version_id,
        )
        token.user_is_superuser = self.user_is_superuser
        return token


@functools.cache
def _user_shape():
    user_model = get_user_model()
    return user_model, [field.attname for field in user_model._meta.concrete_fields]


@functools.cache
def _statement(with_namespace: bool, with_config: bool, whole_user: bool) -> str:
    user_model = get_user_model()
    namespaces = Namespace._meta.db_table
    columns = list(CORE)
    if with_namespace:
        columns += [
            f"EXISTS (SELECT 1 FROM {ApiToken.namespaces.through._meta.db_table} s"
            f" JOIN {namespaces} n ON n.id = s.namespace_id"
            " WHERE s.apitoken_id = t.id AND n.slug = %(namespace)s)",
            f"(SELECT m.role FROM {Membership._meta.db_table} m JOIN {namespaces} n"
            " ON n.id = m.namespace_id WHERE m.user_id = t.user_id AND n.slug = %(namespace)s)",
        ]
    if with_config:
        # The config by its unique (namespace, key) index, then its versions newest first by
        # the (config, number) index.
        columns.append(
            f"(SELECT v.id FROM {Version._meta.db_table} v WHERE v.config_id = ("
            f"SELECT c.id FROM {Config._meta.db_table} c JOIN {namespaces} n"
            " ON n.id = c.namespace_id WHERE n.slug = %(namespace)s AND c.key = %(key)s)"
            " AND v.environment_id = COALESCE(t.environment_id, %(default_environment)s)"
            " AND v.cancelled_at IS NULL AND v.effective_at <= %(now)s"
            " ORDER BY v.number DESC LIMIT 1)"
        )
    if whole_user:
        columns.append("t.name")
        columns += [f"u.{field.column}" for field in user_model._meta.concrete_fields]
    return (
        f"SELECT {', '.join(columns)} FROM {ApiToken._meta.db_table} t"
        f" JOIN {user_model._meta.db_table} u ON u.id = t.user_id WHERE t.key_hash = %(hash)s"
    )


def _cursor():
    if connection.vendor != "postgresql":
        return connection.cursor()
    import psycopg

    # Skips Django's per-request health check (a SELECT 1 round trip) on this hot path: a
    # broken connection is found out by the statement itself, see _fetch_one().
    connection.ensure_connection()
    return connection._prepare_cursor(psycopg.Cursor(connection.connection))


def _fetch_one(statement: str, params: dict) -> tuple | None:
    """The statement's first row; asked again once on a new connection if the one this process
    held was closed by the server (a restart, an idle timeout, a killed backend).

    Asking again is safe because the statement only reads. It is not asked again inside a
    transaction (the connection cannot be swapped there) or when the server did not answer in
    time (a second wait would only double the time to the 503)."""
    try:
        with _cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchone()
    except (OperationalError, InterfaceError) as exc:
        if connection.in_atomic_block or _no_answer(exc) or connection.is_usable():
            raise
        connection.close()
    with _cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()


def _no_answer(exc: BaseException) -> bool:
    from common.postgresql.base import NoAnswer

    return isinstance(exc.__cause__, NoAnswer)


def _aware(value):
    # SQLite hands back naive UTC datetimes for raw queries.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def token_lookup(
    key_hash: str, namespace: str | None, key: str | None, now: datetime, *, whole_user=False
) -> TokenRow | None:
    """The token with this hash, as described above; None if there is none.

    `whole_user` also reads every column of the user, for `TokenRow.token_model()`."""
    with_namespace = bool(namespace)
    with_config = with_namespace and bool(key)
    params = {
        "hash": key_hash,
        "namespace": namespace,
        "key": key,
        "now": now,
        "default_environment": environments.default().id,
    }
    row = _fetch_one(_statement(with_namespace, with_config, whole_user), params)
    if row is None:
        return None
    row = [_aware(value) for value in row]
    token = TokenRow(*row[: len(CORE)])
    rest = row[len(CORE) :]
    if with_namespace:
        token.in_scope, token.role = bool(rest[0]), rest[1]
        rest = rest[2:]
    if with_config:
        token.live_version_id = rest[0]
        rest = rest[1:]
    if whole_user:
        token.name, token.user_values = rest[0], tuple(rest[1:])
    token.can_write = bool(token.can_write)
    return token
