"""Set-based inserts for the ingest hot path: many rows, one statement, their ids in order.

Why not the ORM's bulk ``insert().returning(…, sort_by_parameter_order=True)``?
Profiled on a device batch of 500 readings (docs/monitoring.md, "Performance"):

* SQLite cannot promise the order of ``RETURNING`` rows of a multi-row
  ``INSERT``, so SQLAlchemy falls back to one statement per row (500 round
  trips through the ORM, ~60 % of the batch's time);
* on PostgreSQL the batch becomes a few ``INSERT … VALUES`` statements with
  12,500 parameters each, which psycopg re-parses on every execution (long
  queries bypass its cache): ~0.3 s per 500 rows.

Instead the new ids are taken first — under the transaction's write lock on
SQLite (``BEGIN IMMEDIATE``, see :func:`exoneb.core.db.make_engine`: nobody
else can insert until we commit, so ``max(id) + 1 …`` are ours), from the
table's own sequence on PostgreSQL (``nextval``, the same numbers a default
would have drawn) — and the rows are written with their ids in one
``executemany`` (SQLite) or one ``COPY`` (PostgreSQL). The values pass through
each column type's own bind processing (e.g. :class:`exoneb.core.db.UTCDateTime`
refusing naive datetimes), so what is stored is exactly what the ORM would
have stored. It all runs on the caller's connection, inside its transaction:
a rollback removes every row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session as DbSession

from exoneb.core.db import Base

Processor = Callable[[Any], Any]


def _processors(table: Table, columns: Sequence[str], dialect: Any) -> list[tuple[int, Processor]]:
    """SQLAlchemy's own bind processing (of the *dialect's* type) per column that has one."""
    procs = [
        (j, table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        for j, name in enumerate(columns)
    ]
    return [(j, p) for j, p in procs if p is not None]


def _new_ids(db: DbSession, table: Table, count: int) -> list[int]:
    """``count`` fresh primary keys for ``table``, ascending."""
    if db.get_bind().dialect.name == "postgresql":
        stmt = text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
        )
        return sorted(int(i) for i in db.scalars(stmt, {"table": table.name, "n": count}))
    # SQLite: the transaction holds the write lock (BEGIN IMMEDIATE) until it commits.
    last = db.scalar(select(func.max(table.c.id))) or 0
    return list(range(last + 1, last + 1 + count))


def insert_rows(
    db: DbSession, model: type[Base], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """Insert ``rows`` (values in ``columns`` order) into ``model``'s table; the new ids, in order.

    The table must have an integer primary key ``id`` filled by the database
    (SQLite rowid, PostgreSQL serial). Every row must give every column named.
    """
    table = model.__table__
    assert isinstance(table, Table)
    if not rows:
        return []
    ids = _new_ids(db, table, len(rows))
    names = ["id", *columns]
    conn = db.connection()
    values = [[i, *row] for i, row in zip(ids, rows, strict=True)]
    for j, process in _processors(table, names, conn.dialect):
        for v in values:
            v[j] = process(v[j])
    column_list = ", ".join(names)
    if conn.dialect.name == "postgresql":
        driver = conn.connection.driver_connection
        assert driver is not None
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {table.name} ({column_list}) FROM STDIN") as copy,
        ):
            for v in values:
                copy.write_row(v)
    else:
        marks = ", ".join("?" * len(names))
        statement = f"INSERT INTO {table.name} ({column_list}) VALUES ({marks})"
        conn.exec_driver_sql(statement, [tuple(v) for v in values])
    return ids
