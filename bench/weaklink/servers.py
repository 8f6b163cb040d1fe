"""The two servers the phones talk to, each on this machine with the same village documents:
Paicha (a village cadre's account, whose scope is the village) and pouchdb-server (an admin, and a
replication filter on the village for pulls)."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "bench")]

from seed import OWN_VILLAGE, PASSWORD  # noqa: E402
from support.server import PouchDBServerProcess, ServerProcess  # noqa: E402
from support.stores import Stores  # noqa: E402

PY = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv/bin/python").exists() else sys.executable
BENCH_JS = REPO / "bench" / "node" / "bench.js"
PHONE_JS = Path(__file__).with_name("phone.js")


def node(script: Path, command: str, args: dict, timeout: float = 900) -> dict:
    """Run a Node command (JSON in on stdin, one JSON line out); raise if it failed."""
    proc = subprocess.run(["node", str(script), command, "-"], input=json.dumps(args), capture_output=True,
                          text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    out = json.loads(lines[-1]) if lines else {"error": "no output", "reason": proc.stderr[-2000:]}
    if proc.returncode != 0 or "error" in out:
        raise RuntimeError(f"{script.name} {command} failed: {out} {proc.stderr[-2000:]}")
    return out


@dataclass
class Side:
    """One server as the phones see it."""
    name: str
    server: ServerProcess
    database: str
    auth: dict
    user: str  # who the phone's documents say wrote them
    pull_area: str | None = None  # pull through the replication filter on this village (pouchdb-server)
    notes: dict = field(default_factory=dict)

    def stop(self) -> None:
        self.server.stop()


def start_paicha(kind: str, stores: Stores, store_docs: int, village_docs: int) -> Side:
    """A store of `store_docs` seeded documents, `village_docs` of them in the cadre's village."""
    url = stores.new(kind)
    seeded = subprocess.run([PY, str(REPO / "bench" / "seed.py"), url, "--docs", str(store_docs),
                             "--own-docs", str(village_docs), "--accounts", "0"], capture_output=True, text=True,
                            cwd=REPO)
    if seeded.returncode != 0:
        raise RuntimeError(f"seed failed: {seeded.stderr[-3000:]}")
    server = ServerProcess(url, name=f"weaklink-{kind}", env={"PAICHA_LOG_LEVEL": "WARNING"}).start()
    return Side("paicha", server, "paicha", {"username": "bench-cadre", "password": PASSWORD}, "bench-cadre",
                notes={"store": kind, "seed": json.loads(seeded.stdout.strip().splitlines()[-1])})


def start_pouchdb_server(directory: Path, store_docs: int, village_docs: int) -> Side:
    """The same documents (ids, revisions, bodies) in one database, with the `bench/area` filter."""
    server = PouchDBServerProcess(str(directory), name="weaklink-pouchdb-server").start()
    auth = {"username": server.admin_user, "password": server.admin_password}
    requests.put(f"{server.url}/village", auth=server.auth, timeout=60).raise_for_status()
    seeded = node(BENCH_JS, "seed", {"remote": f"{server.url}/village", "auth": auth, "total": store_docs,
                                     "own": village_docs, "concurrency": 2})
    return Side("pouchdb-server", server, "village", auth, "bench-cadre", pull_area=OWN_VILLAGE,
                notes={"seed": seeded})
