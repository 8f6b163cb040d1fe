"""Insert-or-update for the two stores the server runs on (SQLite, PostgreSQL): the read models' and
the calendar's rows are written this way.

One statement per table, key and dialect, built once and run by `sync.precompiled.execute_many`: a
multi-row VALUES built per batch would be compiled afresh each time (SQLAlchemy cannot cache it).
The rows of one call must not share a key (PostgreSQL refuses to update a row twice in one
statement), and each row gives every column.
"""
from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sync.precompiled import execute_many

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def upsert(conn: sa.Connection, table: sa.Table, rows: list[dict], keys: tuple[str, ...],
           only_if_newer: str | None = None) -> None:
    """Insert `rows`, or update the row with the same `keys`. With `only_if_newer` (a column), an
    existing row is updated only if its value there is lower than the incoming one."""
    if rows:
        execute_many(conn, _statement(conn.dialect.name, table, tuple(keys), only_if_newer), rows)


@functools.cache
def _statement(dialect: str, table: sa.Table, keys: tuple[str, ...], only_if_newer: str | None):
    if dialect not in _INSERT:  # pragma: no cover - only SQLite and PostgreSQL are supported stores
        raise NotImplementedError(dialect)
    stmt = _INSERT[dialect](table)
    where = table.c[only_if_newer] < stmt.excluded[only_if_newer] if only_if_newer else None
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
        where=where)
