"""The store's two paths around SQLAlchemy's per-statement machinery, on both stores:

- `execute_many`: the bulk writes of `_bulk_docs` (revisions, documents, audit trail, ledger
  index) skip SQLAlchemy's per-row parameter handling, and on PostgreSQL go as one INSERT from
  arrays. The rows stored must be exactly the rows given, typed as SQLAlchemy would store them.
- `Store.read_row`: the account and database-id reads of every request run on a pooled driver
  connection. The row must be what SQLAlchemy would return, and a broken connection must not
  fail the read."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sync.precompiled import execute_many
from sync.store import Store

meta = sa.MetaData()
things = sa.Table(
    "things", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(40), nullable=False, unique=True),
    sa.Column("seen", sa.Boolean, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("amount", sa.Numeric(10, 2), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
)
INSERT = things.insert()
UPDATE = things.update().where(things.c.name == sa.bindparam("k_name")).values(note=sa.bindparam("note"))


def _upsert(dialect: str):
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    stmt = insert(things)
    return stmt.on_conflict_do_update(index_elements=["name"], set_={"note": stmt.excluded.note},
                                      where=things.c.amount < stmt.excluded.amount)


UPSERTS = {name: _upsert(name) for name in ("sqlite", "postgresql")}
AT = dt.datetime(2026, 12, 2, 8, 30, 15, 123456, tzinfo=dt.timezone.utc)


def _rows(n: int, start: int = 0) -> list[dict]:
    return [{"name": f"n{i:05d}", "seen": i % 2 == 0, "at": AT + dt.timedelta(minutes=i) if i % 3 else None,
             "amount": None if i % 5 == 0 else f"{i}.25", "note": f"百分之%s {i} %(x)s ?"} for i in range(start, start + n)]


def _stored(engine) -> list[dict]:
    with engine.connect() as conn:
        out = []
        for row in conn.execute(sa.select(things).order_by(things.c.name)).mappings():
            row = dict(row)
            if row["at"] is not None and row["at"].tzinfo is None:  # SQLite keeps no offset
                row["at"] = row["at"].replace(tzinfo=dt.timezone.utc)
            row["amount"] = None if row["amount"] is None else f"{row['amount']:.2f}"
            out.append(row)
        return out


@pytest.fixture
def table(engine):
    meta.create_all(engine)
    return engine


@pytest.mark.parametrize("count", [1, 3, 1200])
def test_inserted_rows_are_the_rows_given(table, count):
    rows = _rows(count)
    with table.begin() as conn:
        execute_many(conn, INSERT, rows)
    stored = _stored(table)
    assert [{k: v for k, v in s.items() if k != "id"} for s in stored] == rows
    assert len({s["id"] for s in stored}) == count  # the autoincrement key was left to the database


def test_same_statement_with_other_keys_is_planned_apart(table):
    with table.begin() as conn:
        execute_many(conn, INSERT, [{"name": "a", "seen": True}, {"name": "b", "seen": False}])
        execute_many(conn, INSERT, _rows(2))
    names = [(s["name"], s["seen"], s["note"]) for s in _stored(table)]
    assert names[:2] == [("a", True, None), ("b", False, None)]
    assert [n for n, _, _ in names[2:]] == ["n00000", "n00001"]


def test_update_by_bound_key(table):
    with table.begin() as conn:
        execute_many(conn, INSERT, _rows(4))
        execute_many(conn, UPDATE, [{"k_name": "n00001", "note": "one"}, {"k_name": "n00003", "note": "three"}])
    assert [s["note"] for s in _stored(table)][1::2] == ["one", "three"]
    assert _stored(table)[0]["note"] == _rows(1)[0]["note"]


def test_upsert_updates_only_where_its_condition_holds(table):
    with table.begin() as conn:
        execute_many(conn, INSERT, _rows(3))  # amounts: None, 1.25, 2.25
    changed = [dict(r, amount="9.00", note="newer") for r in _rows(3)]
    changed[2]["amount"] = "0.50"  # lower: the WHERE of the upsert keeps the stored note
    changed.append(dict(_rows(1, start=50)[0], note="inserted"))
    with table.begin() as conn:
        execute_many(conn, UPSERTS[table.dialect.name], changed)
    notes = {s["name"]: s["note"] for s in _stored(table)}
    assert notes["n00001"] == "newer"
    assert notes["n00002"] == _rows(3)[2]["note"]
    assert notes["n00000"] == _rows(1)[0]["note"]  # NULL amount: NULL < 9 is not true
    assert notes["n00050"] == "inserted"


def test_a_failing_row_fails_the_whole_call(table):
    rows = _rows(3) + [_rows(1)[0]]  # a duplicate name
    with pytest.raises(sa.exc.IntegrityError):
        with table.begin() as conn:
            execute_many(conn, INSERT, rows)
    assert _stored(table) == []


def test_nothing_to_write_runs_nothing(table):
    with table.begin() as conn:
        execute_many(conn, INSERT, [])
    assert _stored(table) == []


def test_a_value_too_long_is_never_cut(table):
    rows = _rows(3)
    rows[1]["name"] = "长" * 41  # the column is VARCHAR(40)
    if table.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DataError):
            with table.begin() as conn:
                execute_many(conn, INSERT, rows)
        assert _stored(table) == []
    else:  # SQLite does not enforce VARCHAR lengths: stored whole
        with table.begin() as conn:
            execute_many(conn, INSERT, rows)
        assert "长" * 41 in [s["name"] for s in _stored(table)]


BY_NAME = sa.select(things).where(things.c.name == sa.bindparam("name"))
SEEN_BY_NAME = sa.select(things.c.seen, things.c.at).where(things.c.name == sa.bindparam("name"))


def test_read_row_gives_what_sqlalchemy_gives(table):
    store = Store(table)
    with table.begin() as conn:
        execute_many(conn, INSERT, _rows(3))
    for name in ("n00000", "n00001", "n00002"):
        with table.connect() as conn:
            expected = conn.execute(BY_NAME, {"name": name}).first()
        got = store.read_row(BY_NAME, {"name": name})
        assert tuple(got) == tuple(expected) and got._fields == expected._fields
        assert got.seen is expected.seen and type(got.at) is type(expected.at)
    narrow = store.read_row(SEEN_BY_NAME, {"name": "n00001"})
    assert narrow.seen is False and narrow.at.replace(tzinfo=dt.timezone.utc) == AT + dt.timedelta(minutes=1)
    assert store.read_row(BY_NAME, {"name": "nobody"}) is None


def test_read_row_survives_a_dropped_connection(table):
    """A pooled connection the database server dropped is replaced, and the read still answers."""
    store = Store(table)
    with table.begin() as conn:
        execute_many(conn, INSERT, _rows(1))
    assert store.read_row(BY_NAME, {"name": "n00000"}).name == "n00000"
    invalidated = []
    sa.event.listen(table, "invalidate", lambda *args: invalidated.append(args))
    raw = table.raw_connection()  # the connection read_row just gave back
    raw.dbapi_connection.close()  # dropped under the pool, which still holds it
    raw.close()
    assert store.read_row(BY_NAME, {"name": "n00000"}).name == "n00000"
    assert len(invalidated) == 1  # the dead one was found and thrown away, not handed out again
    assert store.read_row(BY_NAME, {"name": "n00000"}).name == "n00000"


def _assert_pool_transactional(table) -> None:
    """Every connection the pool holds (handed out at once) is in transactions: a batch that fails
    halfway leaves nothing behind. The table holds the one row "n00000"."""
    held = [table.connect() for _ in range(4)]
    try:
        for conn in held:
            assert not getattr(conn.connection.dbapi_connection, "autocommit", False)
        with pytest.raises(sa.exc.IntegrityError):
            with held[0].begin():
                held[0].execute(INSERT, _rows(1, start=1)[0])
                held[0].execute(INSERT, _rows(1)[0])  # a duplicate name: the batch fails here
    finally:
        for conn in held:
            conn.close()
    assert [r["name"] for r in _stored(table)] == ["n00000"]


def test_connections_come_back_from_read_row_transactional(table):
    """On PostgreSQL read_row reads in the driver's autocommit mode; every pooled connection it
    used, after a read, a miss, an error or a drop, must be back in transactions: a batch that fails
    halfway leaves nothing behind."""
    store = Store(table)
    with table.begin() as conn:
        execute_many(conn, INSERT, _rows(1))
    missing = sa.select(sa.table("no_such_table", sa.column("x")).c.x).where(sa.column("x") == sa.bindparam("x"))
    for _ in range(3):  # more reads than connections the pool holds at once
        assert store.read_row(BY_NAME, {"name": "n00000"}) is not None
        assert store.read_row(BY_NAME, {"name": "nobody"}) is None
        with pytest.raises(sa.exc.DBAPIError):
            store.read_row(missing, {"x": 1})
    raw = table.raw_connection()
    raw.dbapi_connection.close()  # dropped under the pool
    raw.close()
    assert store.read_row(BY_NAME, {"name": "n00000"}) is not None
    _assert_pool_transactional(table)


def test_read_row_error_is_sqlalchemys(table):
    store = Store(table)
    missing = sa.select(sa.table("no_such_table", sa.column("x")).c.x).where(sa.column("x") == sa.bindparam("x"))
    with pytest.raises(sa.exc.DBAPIError):
        store.read_row(missing, {"x": 1})
    assert store.read_row(BY_NAME, {"name": "nobody"}) is None  # the pool is still usable


def _in_transaction(conn: sa.Connection) -> bool:
    """Whether the database server holds a transaction open on this connection now."""
    driver = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        from psycopg.pq import TransactionStatus

        return driver.pgconn.transaction_status != TransactionStatus.IDLE
    return driver.in_transaction


def test_reads_on_postgresql_open_no_transaction(table):
    """`Store.reading` on PostgreSQL runs its statements in autocommit mode (no BEGIN, no COMMIT:
    two round trips of a phone's `_revs_diff`); SQLite keeps its read transaction, which is what
    gives a group of its reads one snapshot."""
    store = Store(table)
    with table.begin() as conn:
        execute_many(conn, INSERT, _rows(2))
    with store.reading() as conn:
        assert [r.name for r in conn.execute(sa.select(things.c.name).order_by(things.c.name))] == ["n00000", "n00001"]
        assert _in_transaction(conn) is (table.dialect.name == "sqlite")


def test_connections_come_back_from_reading_transactional(table):
    """After reads outside a transaction, a failed read, or a connection dropped under a read, every
    pooled connection is back in transactions: a write batch that fails halfway leaves nothing."""
    store = Store(table)
    with table.begin() as conn:
        execute_many(conn, INSERT, _rows(1))
    for _ in range(3):  # more reads than the pool holds connections at once
        with store.reading() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(things)).scalar_one() == 1
        with pytest.raises(sa.exc.DBAPIError), store.reading() as conn:
            conn.execute(sa.text("SELECT x FROM no_such_table"))
    with pytest.raises(sa.exc.DBAPIError), store.reading() as conn:
        conn.connection.dbapi_connection.close()  # dropped while in use
        conn.execute(sa.select(things.c.name))
    _assert_pool_transactional(table)
