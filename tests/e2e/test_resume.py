"""The server is SIGKILLed in the middle of a replication and started again on the same port and
store: the next replication resumes from the checkpoint (not from zero) and every doc arrives
exactly once. The tests share the module's server (a fresh store of the module's kind), each on a
database of its own; each test kills it and starts it again."""
from __future__ import annotations

import time

import pytest

from support.checks import duplicates

N = 3000
BATCH = 20


KILL_POINTS = ["at-first-checkpoint", "batch-written-not-checkpointed"]


@pytest.fixture
def server_to_kill(server):
    """The module's server, running (started again if a test before left it killed)."""
    if not server.alive():
        server.restart()
    return server


def start_replication(phone, direction, db_url, kill_at):
    # For the second kill point the phone holds every checkpoint write after the first for 5 s, so
    # the kill surely falls between a batch written to the target and its checkpoint.
    delay = 5_000 if kill_at == "batch-written-not-checkpointed" else None
    return phone.start_replication(direction, db_url, batch_size=BATCH, batches_limit=1,
                                   delay_checkpoints_ms=delay)


def run_then_kill(srv, run, kill_at):
    """Follow the running replication's events and SIGKILL the server
    - "at-first-checkpoint": right after the first checkpoint is written (on both sides);
    - "batch-written-not-checkpointed": when the next batch has been written to the target and its
      checkpoint is being held back (see start_replication()).
    Returns the number of docs read when the first checkpoint was written."""
    read = read_at_checkpoint = 0
    while True:
        event = run.next_event(timeout=120)
        assert event is not None, f"the replication ended before the kill point: {run.result(check=False)}"
        if event["event"] == "change":
            read = event["data"]["docs_read"]
        elif event["event"] == "checkpoint":
            read_at_checkpoint = read
            if kill_at == "at-first-checkpoint":
                break
        elif event["event"] == "checkpoint_delayed":
            assert read > read_at_checkpoint
            break
    srv.kill()
    result = run.result(timeout=120, check=False)
    assert run.returncode != 0, ("the replication finished before the server was killed; the test "
                                 f"needs more docs or smaller batches: {result}")
    assert 0 < read_at_checkpoint < N
    return read_at_checkpoint


def assert_each_once_on_server(db, expected_ids):
    ids = db.changes_ids()
    assert not duplicates(ids), f"ids more than once in _changes: {list(duplicates(ids))[:10]}"
    assert sorted(ids) == sorted(expected_ids)
    info = db.info()
    assert info["doc_count"] == len(expected_ids)
    revs = [row["value"]["rev"] for row in db.all_docs()["rows"]]
    assert len(revs) == len(expected_ids) and all(r.startswith("1-") for r in revs)


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_push_resumes_after_the_server_is_killed(server_to_kill, db_factory, device_factory, kill_at):
    srv = server_to_kill
    db_url = db_factory(srv)
    db = db_url.api
    phone = device_factory("phone")
    phone.generate("r", N)
    ids_before = phone.replication_id(db_url)

    read_at_checkpoint = run_then_kill(srv, start_replication(phone, "push", db_url, kill_at), kill_at)

    srv.restart()
    ids_after = phone.replication_id(db_url)
    assert ids_after["push"] == ids_before["push"], (
        "the checkpoint id changed across the restart: PouchDB derives it from GET / `uuid`, which "
        f"must stay the same ({ids_before['remote_id']} -> {ids_after['remote_id']})")
    r = db.local(ids_before["push"])
    assert r.status_code == 200, f"the checkpoint written before the kill is gone: {r.status_code} {r.text}"
    assert r.json()["last_seq"] >= read_at_checkpoint  # a fresh phone: local seq n = n-th doc
    arrived = len(db.changes_ids())
    assert read_at_checkpoint <= arrived < N

    second = phone.push(db_url, batch_size=200)
    source = second["source"]["push"]
    print(f"push ({kill_at}): {read_at_checkpoint} read by the checkpoint, {arrived} on the server after "
          f"the kill; the second run started at seq {source['since']}, went through "
          f"{source['changes']} changes, read {second['push']['docs_read']}, wrote "
          f"{second['push']['docs_written']}")
    assert second["ok"], second
    assert second["push"]["doc_write_failures"] == 0
    # resumed from the checkpoint, not from zero: the checkpointed changes were not gone through again
    assert source["since"] not in (None, 0, "0"), source
    assert source["since"] >= read_at_checkpoint
    assert source["changes"] == N - source["since"]
    # and revs_diff kept the docs already on the server (checkpointed or not) from being sent again
    assert second["push"]["docs_written"] == N - arrived
    assert_each_once_on_server(db, [f"r-{i:06d}" for i in range(N)])

    third = phone.push(db_url)
    assert third["push"]["docs_read"] == 0 and third["push"]["docs_written"] == 0


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_pull_resumes_after_the_server_is_killed(server_to_kill, db_factory, device_factory, kill_at):
    srv = server_to_kill
    db_url = db_factory(srv)
    db = db_url.api
    expected = [f"s-{i:06d}" for i in range(N)]
    for first in range(0, N, 500):
        res = db.bulk_docs([{"_id": i, "type": "e2e"} for i in expected[first:first + 500]])
        assert all(r.get("ok") for r in res)
    phone = device_factory("phone")
    ids = phone.replication_id(db_url)

    read_at_checkpoint = run_then_kill(srv, start_replication(phone, "pull", db_url, kill_at), kill_at)
    on_phone = phone.info()["doc_count"]
    assert read_at_checkpoint <= on_phone < N

    srv.restart()
    assert phone.replication_id(db_url)["pull"] == ids["pull"], "GET / `uuid` changed across the restart"
    r = db.local(ids["pull"])
    assert r.status_code == 200, f"the pull checkpoint written before the kill is gone: {r.status_code} {r.text}"

    second = phone.pull(db_url, batch_size=200)
    source = second["source"]["pull"]
    print(f"pull ({kill_at}): {read_at_checkpoint} read by the checkpoint, {on_phone} on the phone after "
          f"the kill; the second run started at seq {source['since']}, went through "
          f"{source['changes']} changes, read {second['pull']['docs_read']}, wrote "
          f"{second['pull']['docs_written']}")
    assert second["ok"], second
    assert source["since"] not in (None, 0, "0"), f"the second pull started from zero: {source}"
    assert source["changes"] <= N - read_at_checkpoint, source
    assert second["pull"]["docs_written"] == N - on_phone
    assert phone.info()["doc_count"] == N
    local_ids = [c["id"] for c in phone.changes()["results"]]
    assert sorted(local_ids) == expected
    assert all(d["_rev"].startswith("1-") for d in phone.docs().values())
    assert_each_once_on_server(db, expected)

    third = phone.pull(db_url)
    assert third["pull"]["docs_written"] == 0


def test_live_sync_rides_out_a_server_restart(server_to_kill, db_factory, device_factory):
    srv = server_to_kill
    db_url = db_factory(srv)
    a, b = device_factory("a"), device_factory("b")
    a.put({"_id": "a-1"})
    live = a.live(db_url, seconds=90, until={"ids": ["b-after-restart"]}, back_off_max=1000)
    try:
        live.wait_event(lambda e: e["event"] == "caught_up", timeout=60)
        srv.kill()
        time.sleep(1.0)
        srv.restart()
        b.put({"_id": "b-after-restart"})
        assert b.push(db_url)["push"]["docs_written"] == 1
        res = live.result(timeout=120)
    finally:
        live.kill()
    assert res["reached"], [e["event"] for e in res["events"]]
    assert db_url.api.doc("a-1")["_id"] == "a-1"
