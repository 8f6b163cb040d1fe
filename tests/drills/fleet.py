"""The phones of the drills: village cadres' PouchDB databases (tests/node/device.js) on the phones'
host, syncing through the proxy, and the checks every drill ends with.

Each phone's round writes two dispute documents of its village and syncs (PouchDB, one-shot), again
and again until a sync completes, as the field app does with `retry`; a document is *acknowledged*
once a sync that started after it was written completed.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

from support import REPO_ROOT
from support.device import Device, DeviceError, _Phone

from .topology import ADMIN_PASSWORD, PYTHON, Topology

DISTRICT = "990301"
TOWNSHIP = f"{DISTRICT}001"
PASSWORD = "drill-phone-pw"
CHEAP_PASSWORDS = {"PAICHA_ARGON2_MEMORY_KIB": "1024", "PAICHA_ARGON2_TIME_COST": "1"}

SEED = """
import json, sys
from server import create_app
from server.setup import prepare
from server.core.areas import check_area, import_areas
from server.core.accounts import add_account
spec = json.loads(sys.argv[1])
app = prepare(create_app(), scheduler=False)
with app.app_context():
    import_areas([check_area(spec["district"], "演练区"), check_area(spec["township"], "演练镇")]
                 + [check_area(v, "演练村" + v[-3:]) for v in spec["villages"]])
    for name, village in spec["phones"]:
        add_account(name, spec["password"], "village_cadre", village)
"""


def village_of(n: int) -> str:
    return f"{TOWNSHIP}{n // 2 + 1:03d}"  # two phones a village


def dispute(doc_id: str, area: str, author: str) -> dict:
    return {"_id": doc_id, "type": "dispute", "area": area, "created_by": author,
            "created_at": "2026-11-20T09:00:00+08:00", "summary": f"演练纠纷 {doc_id}",
            "parties": [{"name": "甲", "role": "applicant"}], "category": "debt", "risk_level": "low",
            "status": "registered"}


@dataclass
class Phone:
    name: str
    village: str
    device: Device
    acknowledged: dict[str, str] = field(default_factory=dict)  # id -> rev the server took
    retries: int = 0


class Fleet:
    def __init__(self, topo: Topology, count: int, base: Path, node_processes: int = 4):
        self.topo = topo
        launcher = tuple(topo.net.command("phones", []))
        self.nodes = [_Phone(launcher) for _ in range(node_processes)]
        self.phones: list[Phone] = []
        for n in range(count):
            name = f"phone-{n:03d}"
            device = Device(base / name, auth={"username": name, "password": PASSWORD}, name=name, timeout=120)
            device._phone = self.nodes[n % node_processes]  # many phones share a Node process
            self.phones.append(Phone(name, village_of(n), device))
        self.lock = threading.Lock()

    @property
    def remote(self) -> str:
        return self.topo.proxy.url + "/paicha"

    def seed(self) -> None:
        spec = {"district": DISTRICT, "township": TOWNSHIP, "password": PASSWORD,
                "villages": sorted({p.village for p in self.phones}),
                "phones": [[p.name, p.village] for p in self.phones]}
        env = {**os.environ, "DATABASE_URL": self.topo.console_url(), "PAICHA_DEMO": "0",
               "PAICHA_SCHEDULER": "off", **CHEAP_PASSWORDS}
        done = subprocess.run([PYTHON, "-c", SEED, json.dumps(spec)], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]

    # -- rounds ------------------------------------------------------------------------------------
    def write(self, phone: Phone, label: str, count: int = 2) -> dict[str, str]:
        docs = [dispute(f"drill-{phone.name}-{label}-{k}", phone.village, phone.name) for k in range(count)]
        return {r["id"]: r["rev"] for r in phone.device.put(*docs)}

    def sync(self, phone: Phone, written: dict[str, str] | None = None, attempts: int = 60) -> None:
        """Sync until one completes whole; then what was written before it is acknowledged."""
        for attempt in range(attempts):
            try:
                result = phone.device.sync(self.remote, batch_size=50)
                if result.get("ok") and not result["push"]["doc_write_failures"]:
                    break
            except DeviceError:
                pass
            phone.retries += 1
            time.sleep(min(0.5 * (attempt + 1), 3))
        else:
            raise AssertionError(f"{phone.name} could not sync in {attempts} attempts")
        if written:
            phone.acknowledged.update(written)

    def round(self, label: str, phones: list[Phone] | None = None, midway=None) -> float:
        """Every phone (or those given) writes and syncs at once; seconds the round took.
        `midway()` runs once a fifth of the phones are through, the others still syncing."""
        phones = phones or self.phones
        started = time.monotonic()
        done = [0]
        fired = threading.Event()

        def one(phone: Phone) -> None:
            self.sync(phone, self.write(phone, label))
            with self.lock:
                done[0] += 1
                fire = midway is not None and not fired.is_set() and done[0] >= max(1, len(phones) // 5)
                if fire:
                    fired.set()
            if fire:
                midway()

        with ThreadPoolExecutor(max_workers=50) as pool:
            list(pool.map(one, phones))
        return time.monotonic() - started

    def sync_all(self) -> None:
        with ThreadPoolExecutor(max_workers=50) as pool:
            list(pool.map(self.sync, self.phones))

    # -- the checks every drill ends with ------------------------------------------------------------
    def admin_docs(self) -> dict[str, dict]:
        r = requests.get(self.remote + "/_all_docs", params={"include_docs": "true", "conflicts": "true"},
                         auth=("admin", ADMIN_PASSWORD), timeout=120)
        r.raise_for_status()
        return {row["id"]: row["doc"] for row in r.json()["rows"]}

    def check(self) -> dict:
        """Every acknowledged write is on the server, once; every phone holds exactly what the server
        gives its account, all of it of its own village."""
        self.sync_all()
        server = self.admin_docs()
        acknowledged = {i: rev for p in self.phones for i, rev in p.acknowledged.items()}
        lost = sorted(i for i in acknowledged if i not in server)
        changed = sorted(i for i, rev in acknowledged.items() if i in server and server[i]["_rev"] != rev)
        conflicted = sorted(i for i, d in server.items() if d.get("_conflicts"))
        assert not lost, f"{len(lost)} acknowledged writes lost, e.g. {lost[:5]}"
        assert not changed, f"{len(changed)} acknowledged writes have another revision, e.g. {changed[:5]}"
        assert not conflicted, f"{len(conflicted)} documents in conflict, e.g. {conflicted[:5]}"
        missing_on_phones = 0

        def compare(phone: Phone) -> int:
            theirs = requests.get(self.remote + "/_all_docs", auth=(phone.name, PASSWORD), timeout=60)
            theirs.raise_for_status()
            expected = {row["id"]: row["value"]["rev"] for row in theirs.json()["rows"]}
            held = {i: d["_rev"] for i, d in phone.device.docs().items()}
            outside = [i for i, d in phone.device.docs().items() if not str(d.get("area", "")).startswith(phone.village)]
            assert not outside, f"{phone.name} holds documents outside its village: {outside[:5]}"
            assert all(server[i].get("area", "").startswith(phone.village) for i in expected), \
                f"the server gives {phone.name} documents outside its village"
            missing = {i for i in expected if held.get(i) != expected[i]}
            assert not missing, f"{phone.name} lacks {len(missing)} changes, e.g. {sorted(missing)[:5]}"
            assert set(held) == set(expected), f"{phone.name} holds {set(held) - set(expected)} the server has not"
            return len(held)

        with ThreadPoolExecutor(max_workers=20) as pool:
            held_counts = list(pool.map(compare, self.phones))
        return {"server_docs": len(server), "acknowledged": len(acknowledged), "lost": 0,
                "phones_checked": len(self.phones), "docs_on_phones": sum(held_counts),
                "missing_on_phones": missing_on_phones, "retries": sum(p.retries for p in self.phones)}

    def close(self) -> None:
        for node in self.nodes:
            node.kill()
