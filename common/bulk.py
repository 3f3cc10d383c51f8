"""`insert_all`: thousands of new rows of one model in a few statements, with their ids;
`copy_rows`: the same for rows a caller already holds as database values, without models.

Django's `bulk_create` on PostgreSQL binds every value into the statement on the client (its
psycopg cursors bind client-side), quoting each string of each array it unnests in Python: for
the 10,000 versions, change-feed events and webhook deliveries of one schema change that was
seconds. COPY sends the rows as data instead, formatted by psycopg's C code. COPY returns no
ids, so they are drawn from the table's sequence first, in one statement; ids drawn together
increase in the order they are handed out, as the rows' own order.

Elsewhere (SQLite), and for a single row, it is `bulk_create` (`copy_rows`: executemany).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar, cast

from django.db import connection, models

M = TypeVar("M", bound=models.Model)

# Fields whose Python values psycopg sends as Django would (aware datetimes: USE_TZ is on).
AS_THEY_ARE = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "BigIntegerField",
    "IntegerField",
    "SmallIntegerField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "BooleanField",
    "CharField",
    "TextField",
    "DateTimeField",
    "UUIDField",
    "ForeignKey",
}


def insert_all(objs: list[M]) -> list[M]:
    """Insert `objs` (new instances of one model, without a primary key unless it is made in
    Python) and return them saved, with their ids. No signals are sent, as for bulk_create."""
    if len(objs) < 2 or connection.vendor != "postgresql":
        return type(objs[0])._default_manager.bulk_create(objs) if objs else objs
    meta = objs[0]._meta
    table = meta.db_table
    fields = list(meta.concrete_fields)
    # Errors as Django's own (IntegrityError, …): COPY runs on psycopg's cursor directly.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if isinstance(meta.pk, models.AutoField):  # BigAutoField and SmallAutoField too
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s) "
                "ORDER BY 1",
                [table, meta.pk.column, len(objs)],
            )
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk
        # Values of these types go as they are (psycopg adapts them); the rest as Django
        # prepares them for the database (JSON, say). Preparing every value took seconds.
        prepare = [field.get_internal_type() not in AS_THEY_ARE for field in fields]

        def database_row(obj: M) -> list[Any]:
            values = [field.pre_save(obj, True) for field in fields]
            return [
                field.get_db_prep_save(value, connection) if prepared else value
                for field, value, prepared in zip(fields, values, prepare, strict=True)
            ]

        # Concrete fields all have a column (`column` is typed optional for the others).
        columns = [cast(str, field.column) for field in fields]
        _copy(cursor, table, columns, map(database_row, objs))
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


def copy_rows(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Write `rows` into `model`'s table, each a sequence of database values (JSON as its text,
    say) in the order of `columns` (column names). No ids come back, no signals are sent and no
    Python default is filled in: every column that needs a value is among `columns`. For the
    thousands of rows one statement plans, when building a model for each costs seconds."""
    table = model._meta.db_table
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if connection.vendor == "postgresql":
            _copy(cursor, table, columns, rows)
        else:
            quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
            cursor.executemany(
                f"INSERT INTO {connection.ops.quote_name(table)} ({quoted}) "
                f"VALUES ({', '.join(['%s'] * len(columns))})",
                list(rows),
            )


def _copy(cursor, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    with cursor.cursor.copy(
        f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)
