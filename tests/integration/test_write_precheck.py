"""`Access.precheck`: the write check's part that needs the incoming document alone runs before the
write transaction (so SQLite's other writers do not queue behind a schema check), and hands its
result to `check_write`, which still decides at the point and in the order it always did. On
SQLite and PostgreSQL."""
from __future__ import annotations

import threading

import pytest

from sync import errors
from sync.access import Access, DbRules, WriteAttempt
from sync.results import WriteResult
from sync.store import write_turn


def _turn_is_free(engine) -> bool:
    """Whether another thread could take this process's write turn now."""
    free = []

    def probe() -> None:
        turn = write_turn(engine)
        lock = getattr(turn, "lock", None)
        if lock is None:  # a database server: no turn to hold
            free.append(True)
            return
        got = lock.acquire(blocking=False)
        if got:
            lock.release()
        free.append(got)

    t = threading.Thread(target=probe)
    t.start()
    t.join()
    return free[0]


@pytest.fixture
def areas(store):
    store.rules_for = lambda name: DbRules(scope_of=lambda body: body.get("area"))
    store.create_database("areas")
    return store


def _access(store, seen_by_precheck: list, seen_by_check: list) -> Access:
    def precheck(raw: dict) -> object:
        seen_by_precheck.append((raw.get("text"), _turn_is_free(store.engine)))
        return ("too short",) if len(raw.get("text", "")) < 3 else ("fine",)

    def check(attempt: WriteAttempt) -> str | None:
        seen_by_check.append((attempt.doc_id, attempt.prechecked))
        return "text too short" if attempt.prechecked == ("too short",) else None

    return Access(user="w", read_prefixes=("11",), check_write=check, precheck=precheck)


def test_prechecks_run_before_the_write_turn_and_reach_the_check(areas):
    pre, checked = [], []
    db = areas.open("areas", _access(areas, pre, checked))
    results = db.bulk_docs([{"_id": "a", "area": "11", "text": "long enough"},
                            {"_id": "b", "area": "11", "text": "no"}])
    assert [r.ok for r in results] == [True, False]
    assert results[1].error.error == "forbidden" and results[1].error.reason == "text too short"
    assert pre == [("long enough", True), ("no", True)]  # every document, none while the turn was held
    assert checked == [("a", ("fine",)), ("b", ("too short",))]

    pre.clear(), checked.clear()
    db.put({"text": "edited", "_rev": results[0].rev, "area": "11"}, "a")
    assert pre == [("edited", True)] and checked == [("a", ("fine",))]


def test_a_conflict_is_still_reported_before_what_the_precheck_found(areas):
    pre, checked = [], []
    db = areas.open("areas", _access(areas, pre, checked))
    first = db.put({"area": "11", "text": "first"}, "c")
    with pytest.raises(errors.Conflict):
        db.put({"area": "11", "text": "x", "_rev": "1-" + "0" * 32}, "c")  # stale parent, and too short
    assert checked == [("c", ("fine",))]  # the check never saw the conflicting edit
    assert db.get("c")["_rev"] == first.rev


def test_a_revision_already_stored_is_not_checked_again(areas):
    pre, checked = [], []
    db = areas.open("areas", _access(areas, pre, checked))
    stored = db.put({"area": "11", "text": "kept"}, "d")
    replayed = {"_id": "d", "_rev": stored.rev, "area": "11", "text": "no"}
    assert db.bulk_docs([replayed], new_edits=False) == [WriteResult("d", stored.rev)]  # answered as written
    assert [c[0] for c in checked] == ["d"]  # only the first write; the replay was a no-op
