"""`flask couch push|pull|sync` as an operator runs it: a separate process on the server's store
(SQLite or PostgreSQL), pouchdb-server (npm) as the CouchDB, credentials from the environment.

* a push SIGKILLed mid-way resumes at its checkpoint and writes every revision exactly once;
* `sync --continuous` follows both sides and stops cleanly on SIGTERM;
* on the domain database, --scope limits what goes out and what comes in, pulled documents go
  through the domain rules (invalid ones are quarantined) and the audit trail names the bridge;
* the password never appears in the output or in the checkpoints.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid

import pytest
import requests

from support import REPO_ROOT
from support.http import Couch, Db
from support.server import PouchDBServerProcess

PASSWORD = "hub:p@ss/word"  # the peer's admin password here: ':' '@' '/' on purpose

# The `flask` CLI with the bridge's group, whether or not create_app registers it yet.
BOOTSTRAP = """
import sys
from server import create_app
app = create_app()
if "couch" not in app.cli.commands:
    from server import bridge_cli
    bridge_cli.init_app(app)
with app.app_context():
    app.cli.main(args=sys.argv[1:], prog_name="flask")
"""
SUMMARY = re.compile(r"^(push|pull): (\d+) changes read, (\d+) revisions written, (\d+) refused, (\d+) failed",
                     re.M)


@pytest.fixture(scope="module")
def peer(tmp_path_factory):
    srv = PouchDBServerProcess(str(tmp_path_factory.mktemp("cli-peer")), name="bridge-cli-peer",
                               admin_password=PASSWORD)
    srv.start()
    yield srv
    srv.close()


@pytest.fixture
def hub(peer):
    """A fresh database name on the peer, and an admin client for it."""
    couch = Couch(peer.url, peer.auth)
    name = f"hub_{uuid.uuid4().hex[:12]}"
    return Db(couch, name)


def python() -> str:
    venv = REPO_ROOT / ".venv" / "bin" / "python"
    return str(venv if venv.exists() else sys.executable)


def cli_env(server, **extra) -> dict:
    env = dict(os.environ)
    env.update({"DATABASE_URL": server.database_url, "PAICHA_DEMO": "0", "PAICHA_SCHEDULER": "off",
                "PAICHA_COUCH_USER": "admin", "PAICHA_COUCH_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"})
    env.pop("PAICHA_COUCH_URL", None)
    env.update(extra)
    return env


def start_cli(server, *args) -> subprocess.Popen:
    return subprocess.Popen([python(), "-c", BOOTSTRAP, *args], cwd=REPO_ROOT, env=cli_env(server),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def run_cli(server, *args, timeout: float = 120) -> str:
    proc = start_cli(server, *args)
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{out}"
    assert PASSWORD not in out and "p@ss" not in out
    return out


def summaries(output: str) -> dict[str, tuple[int, int, int, int]]:
    return {m.group(1): tuple(int(x) for x in m.groups()[1:]) for m in SUMMARY.finditer(output)}


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except (requests.RequestException, KeyError, ValueError):
            pass
        time.sleep(0.1)
    return False


def doc_count(db: Db) -> int:
    r = db.couch.get(db.name)
    return r.json()["doc_count"] if r.status_code == 200 else 0


def leaves(db: Db) -> dict[str, set[str]]:
    body = db.couch.ok_json("GET", f"{db.name}/_changes", params={"style": "all_docs"})
    return {c["id"]: {x["rev"] for x in c["changes"]} for c in body["results"]}


def test_push_killed_midway_resumes_at_checkpoint_each_revision_once(server, new_db, hub):
    n, batch = 400, 10
    for start in range(0, n, 100):
        new_db.api.bulk_docs([{"_id": f"doc-{i:04d}", "n": i} for i in range(start, start + 100)])
    url = hub.url
    proc = start_cli(server, "couch", "push", url, "--db", new_db.name, "--batch-size", str(batch),
                     "--pause", "0.05", "--create-target")
    try:
        assert wait_for(lambda: doc_count(hub) >= 3 * batch, 60), proc.stdout.read() if proc.poll() is not None else ""
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # mid-way, no chance to checkpoint or clean up
        proc.wait(10)
    killed_output = proc.stdout.read()
    # Let a request that was already on the wire land, then count what the hub holds.
    stable = [-1]
    assert wait_for(lambda: stable.append(doc_count(hub)) or stable[-1] == stable[-2], 10)
    held = stable[-1]
    assert 3 * batch <= held < n, f"not killed mid-way ({held} of {n})\n{killed_output}"

    out = run_cli(server, "couch", "push", url, "--db", new_db.name, "--batch-size", str(batch))
    read, written, refused, failed = summaries(out)["push"]
    assert written == n - held  # nothing the hub already held was written again
    assert n - held <= read <= n - held + batch  # resumed at the last checkpoint, not from zero
    assert (refused, failed) == (0, 0)
    assert doc_count(hub) == n
    assert all(len(revs) == 1 for revs in leaves(hub).values())
    assert leaves(hub) == {k: v for k, v in leaves(new_db.api).items()}
    for text in (killed_output, json.dumps(hub.couch.get(f"{hub.name}/_all_docs").json())):
        assert PASSWORD not in text


def test_sync_continuous_follows_both_sides_and_stops_on_sigterm(server, new_db, hub):
    proc = start_cli(server, "couch", "sync", hub.url, "--db", new_db.name, "--continuous", "--create-target")
    try:
        assert wait_for(lambda: hub.couch.get(hub.name).status_code == 200, 30), "hub database not created"
        new_db.api.bulk_docs([{"_id": f"central-{i}", "n": i} for i in range(5)])
        hub.bulk_docs([{"_id": f"hub-{i}", "n": i} for i in range(4)])
        assert wait_for(lambda: len(leaves(hub)) == 9 and len(leaves(new_db.api)) == 9, 60)
        doc = new_db.api.doc("hub-0")
        new_db.api.put({**doc, "edited": True})
        assert wait_for(lambda: hub.doc("hub-0").get("edited") is True, 30)
    finally:
        began = time.monotonic()
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert time.monotonic() - began < 15
    assert "stopped" in out and PASSWORD not in out and "p@ss" not in out
    assert summaries(out)["push"][1] == 6 and summaries(out)["pull"][1] == 4
    assert leaves(hub) == leaves(new_db.api)


def household(doc_id: str, area: str, **extra) -> dict:
    return {"_id": doc_id, "type": "household", "area": area, "created_by": "admin",
            "created_at": "2024-05-02T10:15:00+08:00", "address": "三组 12 号", "head_name": "王建国",
            "members": 4, **extra}


def test_domain_database_scope_rules_quarantine_and_audit(server, admin, hub):
    domain = Db(admin, "paicha")
    village_a, village_b = "610402001001", "610402002001"
    mine = [household(f"hh-a-{uuid.uuid4().hex[:6]}-{i}", village_a) for i in range(3)]
    theirs = [household(f"hh-b-{uuid.uuid4().hex[:6]}-{i}", village_b) for i in range(2)]
    results = domain.bulk_docs(mine + theirs)
    assert all("error" not in r for r in results), results

    out = run_cli(server, "couch", "push", hub.url, "--scope", village_a, "--create-target")
    assert set(leaves(hub)) == {d["_id"] for d in mine}

    hub_new = household(f"hh-a-hub-{uuid.uuid4().hex[:6]}", village_a)
    hub_other = household(f"hh-b-hub-{uuid.uuid4().hex[:6]}", village_b)
    hub_invalid = {"_id": f"hh-a-bad-{uuid.uuid4().hex[:6]}", "type": "household", "area": village_a}
    hub.bulk_docs([hub_new, hub_other, hub_invalid])
    out = run_cli(server, "couch", "pull", hub.url, "--scope", village_a)
    read, written, refused, failed = summaries(out)["pull"]
    assert (written, refused, failed) == (1, 2, 0)  # the other village's, and the invalid one
    assert domain.get(hub_new["_id"]).status_code == 200
    assert domain.get(hub_other["_id"]).status_code == 404
    assert domain.get(hub_invalid["_id"]).status_code == 404

    held = run_cli(server, "quarantine", "list")
    assert hub_invalid["_id"] in held and hub_other["_id"] not in held  # out of scope: not quarantined
    trail = run_cli(server, "audit", "history", hub_new["_id"])
    assert "couch-bridge" in trail

    with pytest.raises(AssertionError, match="scope"):
        run_cli(server, "couch", "pull", hub.url, "--scope", "61040")  # not an area code
