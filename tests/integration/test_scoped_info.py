"""A scoped reader's database info counts only its own documents, and stays right as writes come
(the counts are remembered per update_seq; see Database._scoped_counts). On SQLite and PostgreSQL."""
from __future__ import annotations

from sync.access import ADMIN, Access, DbRules


def _scope_of(body: dict) -> str | None:
    return body.get("area")


def _open(store, prefixes):
    return store.open("areas", Access(user="reader", read_prefixes=prefixes))


def test_scoped_counts_follow_every_write(store):
    store.rules_for = lambda name: DbRules(scope_of=_scope_of)
    store.create_database("areas")
    admin = store.open("areas", ADMIN)
    admin.bulk_docs([{"_id": f"a{i}", "area": "11"} for i in range(3)] + [{"_id": "b0", "area": "22"}])

    village_a, village_b = _open(store, ("11",)), _open(store, ("22",))
    assert (village_a.info().doc_count, village_b.info().doc_count) == (3, 1)
    assert village_a.info().doc_count == 3  # asked again, unchanged: the same answer

    rev = admin.get("a0")["_rev"]
    admin.delete("a0", rev)
    info = _open(store, ("11",)).info()
    assert (info.doc_count, info.doc_del_count) == (2, 1)

    admin.bulk_docs([{"_id": "b1", "area": "22"}])
    assert _open(store, ("22",)).info().doc_count == 2
    assert _open(store, ("11",)).info().doc_count == 2  # another scope's write does not leak in
    assert store.open("areas", ADMIN).info().doc_count == 4


def test_a_scope_never_sees_another_scopes_cached_counts(store):
    store.rules_for = lambda name: DbRules(scope_of=_scope_of)
    store.create_database("areas")
    store.open("areas", ADMIN).bulk_docs([{"_id": f"x{i}", "area": "33"} for i in range(5)])
    assert _open(store, ("33",)).info().doc_count == 5
    assert _open(store, ("3",)).info().doc_count == 5
    assert _open(store, ("34",)).info().doc_count == 0
    assert _open(store, ("33", "44")).info().doc_count == 5
