"""A replication batch's lookups: few statements, each reading only the rows asked for.

- A batch of edits reads its documents' current bodies (the write rules compare old and new) in one
  statement, not one per document inside the write.
- Its lookups by id read only the rows asked for, whatever the size of the store and however stale
  PostgreSQL's statistics are.

PostgreSQL plans each statement from its statistics. With autovacuum off, or a table grown since its
last ANALYZE, it thought a database held a handful of documents and answered "these 100 ids" by
reading every document of the database and filtering (and "these 100 revisions" by hashing every
revision): a batch then cost more the larger the store. Here the tables never get statistics, every
statement the engine runs for `_revs_diff`, `_bulk_get` and `_bulk_docs` is explained with its own
parameters, and the rows its scans of the sync tables touch must stay within the batch."""
from __future__ import annotations

import dataclasses
import json

import pytest
import sqlalchemy as sa

from sync.access import ADMIN, Access, DbRules
from sync.store import Store

STORE_DOCS = 3000
BATCH = 100
SYNC_TABLES = ("sync_documents", "sync_revisions")


def _filled(store, engine) -> Store:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in SYNC_TABLES:
                conn.exec_driver_sql(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
    store.rules_for = lambda name: DbRules(scope_of=lambda body: body.get("area"))
    store.create_database("big")
    admin = store.open("big", ADMIN)
    for start in range(0, STORE_DOCS, 500):
        admin.bulk_docs([{"_id": f"d{i:05}", "area": "11", "text": "x" * 300} for i in range(start, start + 500)])
    return store


@pytest.fixture
def stale_store(store, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite plans these lookups by its primary keys; it keeps no statistics unless told to")
    return _filled(store, engine)


class StatementLog:
    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and any(t in statement for t in SYNC_TABLES):
            self.seen.append((statement, parameters))


def _rows_touched(plan: dict) -> int:
    """Rows the plan's scans of the sync tables produced or threw away, over all their loops."""
    touched = 0
    relation = plan.get("Relation Name", "") or plan.get("Index Name", "")
    if "Scan" in plan["Node Type"] and relation.startswith(SYNC_TABLES + ("ix_sync_documents", "ix_sync_revisions")):
        touched += (plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)
                    + plan.get("Rows Removed by Index Recheck", 0)) * plan["Actual Loops"]
    return touched + sum(_rows_touched(child) for child in plan.get("Plans", []))


def _explained(engine, statements) -> list[tuple[str, int]]:
    out = []
    with engine.connect() as conn:
        for statement, parameters in statements:
            (plan,), = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).one()
            if isinstance(plan, str):
                plan = json.loads(plan)[0]
            out.append((statement.split("FROM")[0][:60], _rows_touched(plan["Plan"])))
        conn.rollback()
    return out


def _winners(db, ids) -> dict[str, str]:
    return {r.id: r.docs[0]["_rev"] for r in db.bulk_get([{"id": i} for i in ids])}


def test_a_batch_reads_only_its_own_rows_with_stale_statistics(stale_store, engine):
    db = stale_store.open("big", ADMIN)
    ids = [f"d{i:05}" for i in range(1500, 1500 + BATCH)]
    winners = _winners(db, ids)
    assert len(winners) == BATCH

    with StatementLog(engine) as log:
        db.revs_diff({i: [winners[i], "2-" + "a" * 32] for i in ids})
        db.bulk_get([{"id": i, "rev": winners[i]} for i in ids], revs=True)
        db.bulk_docs([{"_id": i, "_rev": winners[i], "area": "11", "text": "changed"} for i in ids])
    assert len(log.seen) >= 4, log.seen

    explained = _explained(engine, log.seen)
    for statement, touched in explained:
        assert touched <= 2 * BATCH, (statement, touched, explained)


@pytest.mark.parametrize("new_edits", [True, False], ids=["edits", "replicated"])
def test_a_batch_of_edits_reads_the_current_bodies_in_one_statement(store, engine, new_edits):
    seen_by_rules = {}

    def check_write(attempt):
        seen_by_rules[attempt.doc_id] = attempt.old
        return None

    _filled(store, engine)
    db = store.open("big", dataclasses.replace(ADMIN, check_write=check_write))
    ids = [f"d{i:05}" for i in range(700, 700 + BATCH)]
    winners = _winners(db, ids)
    if new_edits:
        edits = [{"_id": i, "_rev": winners[i], "area": "11", "text": "changed"} for i in ids]
    else:  # as a phone replicates its own edits: second revisions with their history
        edits = [{"_id": i, "_rev": "2-" + "b" * 32, "_revisions": {"start": 2, "ids": ["b" * 32, winners[i][2:]]},
                  "area": "11", "text": "changed"} for i in ids]
    with StatementLog(engine) as log:
        results = db.bulk_docs(edits, new_edits=new_edits)
    assert all(r.ok and r.rev for r in results), results[:3]
    body_reads = [s for s, _ in log.seen if "body" in s and "sync_revisions" in s]
    assert len(body_reads) == 1, body_reads[:3]
    # The write rules still saw each document as it was.
    assert sorted(seen_by_rules) == ids
    assert all(old["_rev"] == winners[i] and old["text"] == "x" * 300 for i, old in seen_by_rules.items())


def test_edits_outside_the_writers_scope_are_refused_unread(store, engine):
    _filled(store, engine)
    ids = [f"d{i:05}" for i in range(900, 900 + BATCH)]
    winners = _winners(store.open("big", ADMIN), ids)
    outsider = Access(user="other-village", read_prefixes=("22",))
    with StatementLog(engine) as log:
        results = store.open("big", outsider).bulk_docs(
            [{"_id": i, "_rev": winners[i], "area": "22", "text": "taken over"} for i in ids])
    assert all(r.error is not None and r.error.error == "forbidden" for r in results), results[:3]
    assert [s for s, _ in log.seen if "body" in s and "sync_revisions" in s] == []
    assert _winners(store.open("big", ADMIN), ids) == winners  # nothing written
