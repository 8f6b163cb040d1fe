"""SQLAlchemy statements compiled once per dialect and run on the database driver itself.

The hot paths of a replicating phone — every request's account and database-id reads, a batch's
bulk writes — are cheap for the database, and SQLAlchemy's per-statement machinery (a Connection,
autobegin, building every row's parameters, result objects) cost more than they do. Statements
passed here are built once and kept (module constants): plans are remembered by identity.
"""
from __future__ import annotations

import collections
import operator
import re
from dataclasses import dataclass

import sqlalchemy as sa


def execute_many(conn: sa.Connection, stmt, rows: list[dict]) -> None:
    """Run `stmt` (an INSERT, UPDATE or upsert of bound parameters, built once and kept) for every
    row. SQLAlchemy's own executemany turns every row's parameters into a new dict in Python, a
    fifth of a `_bulk_docs`; here the statement is compiled once per dialect and the rows go to the
    driver as they are, only the values whose type needs it (SQLite's datetimes, ...) converted.
    On PostgreSQL an INSERT goes as one `INSERT ... SELECT FROM unnest(arrays)`: psycopg's
    executemany sends one statement per row, each planned and run on its own (so the rows of one
    upsert must not conflict with each other). Every row gives the same keys, and every value the
    statement needs: no column defaults are filled in."""
    if not rows:
        return
    plan = _plan_for_many(stmt, tuple(rows[0]), conn.dialect)
    if plan.positional:
        conn.exec_driver_sql(plan.sql, _positional_rows(plan, rows))
        return
    if plan.converters:
        rows = [_converted(row, plan.converters) for row in rows]
    if plan.unnest is not None and len(rows) > 1:
        conn.exec_driver_sql(plan.unnest, tuple([row[k] for row in rows] for k in plan.order))
        return
    conn.exec_driver_sql(plan.sql, rows)


def _positional_rows(plan: "_ManyPlan", rows: list[dict]) -> list[tuple]:
    """Each row as the tuple the driver takes, its values picked in C (`itemgetter`): a generator
    per row and a converted copy of every row's dict were a tenth of a `_bulk_docs` on SQLite."""
    pick = operator.itemgetter(*plan.order)
    picked = [(pick(row),) for row in rows] if len(plan.order) == 1 else list(map(pick, rows))
    if not plan.convert_at:
        return picked
    out = []
    for values in picked:
        values = list(values)
        for i, convert in plan.convert_at:
            values[i] = convert(values[i])
        out.append(tuple(values))
    return out


@dataclass(frozen=True)
class _ManyPlan:
    sql: str
    positional: bool  # the driver takes tuples in `order` (else dicts)
    order: tuple[str, ...]
    converters: tuple
    unnest: str | None = None  # the INSERT taking one array per parameter, in `order`
    convert_at: tuple = ()  # positional: (index in `order`, convert) for the values that need it


_PLANS_FOR_MANY: dict = {}
_NAMED_PARAMETER = re.compile(r"%\((\w+)\)s(?:::[A-Z ]+(?:\([0-9, ]+\))?)?")


def _plan_for_many(stmt, keys: tuple[str, ...], dialect) -> _ManyPlan:
    def build() -> _ManyPlan:
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
        converters = _converters(compiled, dialect)
        if compiled.positional:
            order = tuple(compiled.positiontup)
            convert_at = tuple((i, convert) for i, name in enumerate(order) for key, convert in converters if key == name)
            return _ManyPlan(compiled.string, True, order, converters, convert_at=convert_at)
        if dialect.name == "postgresql" and isinstance(stmt, sa.Insert):
            unnest, order = _unnest_insert(compiled, dialect)
            return _ManyPlan(compiled.string, False, order or tuple(keys), converters, unnest)
        return _ManyPlan(compiled.string, False, tuple(keys), converters)

    return _cached(_PLANS_FOR_MANY, (id(stmt), keys, dialect.name), stmt, build)


def _unnest_insert(compiled, dialect) -> tuple[str | None, tuple[str, ...]]:
    """`INSERT INTO t (a, b) VALUES (%(a)s, %(b)s) ON CONFLICT ...` as
    `INSERT INTO t (a, b) SELECT * FROM unnest(%b::INTEGER[], %b::TEXT[]) ON CONFLICT ...`, and the
    parameter names in order; (None, ()) for a statement with parameters outside its VALUES. A short
    statement of the same text for any number of rows: psycopg parses it once and PostgreSQL
    prepares it, where a multi-row VALUES is parsed again in Python for every batch."""
    head, found, rest = compiled.string.partition(" VALUES (")
    depth, end = 1, 0
    while found and depth and end < len(rest):
        depth += {"(": 1, ")": -1}.get(rest[end], 0)
        end += 1
    group, tail = rest[:end - 1], rest[end:]
    names = tuple(_NAMED_PARAMETER.findall(group))
    if (not found or depth or not names or _NAMED_PARAMETER.sub("", group).strip(", ")
            or _NAMED_PARAMETER.search(head) or _NAMED_PARAMETER.search(tail)):
        return None, ()
    # %b: arrays in psycopg's binary format. Its text format escapes every element in Python,
    # three times slower than the executemany this replaces.
    arrays = ", ".join(f"%b::{_array_element_type(compiled.binds[name].type, dialect)}[]" for name in names)
    return f"{head} SELECT * FROM unnest({arrays}){tail}", names


def _array_element_type(type_, dialect) -> str:
    """The SQL type of an unnest array's elements: character types as TEXT, so that the INSERT's
    own assignment to VARCHAR(n) still refuses a value too long (an explicit cast would cut it)."""
    name = dialect.type_compiler_instance.process(type_.dialect_impl(dialect)).split(" COLLATE ")[0]
    return "TEXT" if name.startswith(("VARCHAR", "CHAR", "TEXT")) else name


@dataclass
class _ReadPlan:
    sql: str
    order: tuple[str, ...] | None  # positional parameter names, or None: the driver takes a dict
    converters: tuple  # (parameter name, convert)
    row_type: type  # a namedtuple of the selected columns' keys
    types: tuple  # the selected columns' types, for this dialect
    readers: tuple | None = None  # a result processor (or None) per column, once a result told the driver's types

    def parameters(self, params: dict):
        if self.converters:
            params = _converted(params, self.converters)
        return params if self.order is None else tuple(params[k] for k in self.order)

    def row(self, values, description, dialect):
        if self.readers is None:
            self.readers = tuple(type_.result_processor(dialect, column[1])
                                 for type_, column in zip(self.types, description))
        return self.row_type._make(v if read is None or v is None else read(v) for v, read in zip(values, self.readers))


_READ_PLANS: dict = {}


def read_plan(stmt, dialect) -> _ReadPlan:
    """How to run the SELECT `stmt` on the driver, and to type its row as SQLAlchemy would."""
    def build() -> _ReadPlan:
        compiled = stmt.compile(dialect=dialect)
        columns = list(stmt.selected_columns)
        return _ReadPlan(
            sql=compiled.string,
            order=tuple(compiled.positiontup) if compiled.positional else None,
            converters=_converters(compiled, dialect),
            row_type=collections.namedtuple("Row", [c.key for c in columns], rename=True),
            types=tuple(c.type.dialect_impl(dialect) for c in columns),
        )

    return _cached(_READ_PLANS, (id(stmt), dialect.name), stmt, build)


def _converters(compiled, dialect) -> tuple:
    """(parameter name, convert) for the parameters whose type converts values for the driver."""
    return tuple((name, convert) for name, bind in compiled.binds.items()
                 if (convert := bind.type.dialect_impl(dialect).bind_processor(dialect)))


def _converted(params: dict, converters: tuple) -> dict:
    return {**params, **{k: convert(params[k]) for k, convert in converters}}


def _cached(cache: dict, key, stmt, build):
    found = cache.get(key)
    if found is None or found[0] is not stmt:
        found = (stmt, build())  # holding stmt keeps its id from being reused by another
        cache[key] = found
    return found[1]
