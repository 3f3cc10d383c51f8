"""`insert_all`: thousands of new rows of one model in a few statements, with their ids.

Django's `bulk_create` on PostgreSQL binds every value into the statement on the client (its
psycopg cursors bind client-side), quoting each string of each array it unnests in Python: for
the 10,000 versions, change-feed events and webhook deliveries of one schema change that was
seconds. COPY sends the rows as data instead, formatted by psycopg's C code. COPY returns no
ids, so they are drawn from the table's sequence first, in one statement; ids drawn together
increase in the order they are handed out, as the rows' own order.

Elsewhere (SQLite), and for a single row, it is `bulk_create`.
"""

from __future__ import annotations

from typing import TypeVar

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
        columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
        with cursor.cursor.copy(
            f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN"
        ) as copy:
            for obj in objs:
                row = [field.pre_save(obj, True) for field in fields]
                copy.write_row(
                    [
                        field.get_db_prep_save(value, connection) if prepared else value
                        for field, value, prepared in zip(fields, row, prepare, strict=True)
                    ]
                )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs
