"""Real PouchDB phones of two villages and their township sync at the same time: each ends with
exactly the documents of its own area, and what it may not write comes back as `denied` with the
reason, while the rest of its work goes through."""
from __future__ import annotations

import pytest

from support.http import Couch
from support.server import ServerProcess

DB = "paicha"
PW = "demo-password"
PHONES = {
    "demo-village": "990101001001",
    "demo-village2": "990101001002",
    "demo-township": "990101001",
}


@pytest.fixture
def demo(store_kind, stores):
    srv = ServerProcess(stores.new(store_kind, "demo"), name=f"scope-devices-{store_kind}", env={"PAICHA_DEMO": "1"})
    srv.start()
    yield srv
    srv.close()


def _dispute(doc_id, area, by):
    return {"_id": doc_id, "type": "dispute", "area": area, "created_by": by,
            "created_at": "2026-11-20T10:00:00+08:00", "summary": "（测试）纠纷", "category": "debt",
            "parties": [{"name": "甲", "role": "applicant"}], "risk_level": "low", "status": "registered"}


def test_three_phones_sync_concurrently_and_each_gets_exactly_its_area(demo, device_factory):
    phones = {}
    for name, area in PHONES.items():
        phone = device_factory(name, auth={"username": name, "password": PW})
        village = area if len(area) == 12 else area + "003"
        phone.put(*[_dispute(f"{name}-d{n}", village, name) for n in range(5)])
        # Not theirs: the neighbour's village (for the township: another township's village).
        elsewhere = {"demo-village": "990101001002", "demo-village2": "990101001001"}.get(name, "990101002001")
        phone.put(_dispute(f"{name}-trespass", elsewhere, name))
        phones[name] = phone

    runs = {name: phone.start_replication("sync", f"{demo.url}/{DB}") for name, phone in phones.items()}
    results = {name: run.result(timeout=180, check=False) for name, run in runs.items()}
    # A second concurrent round brings down what the others pushed during the first.
    again = {name: phone.start_replication("sync", f"{demo.url}/{DB}") for name, phone in phones.items()}
    for name, run in again.items():
        second = run.result(timeout=180, check=False)
        assert second["pull"]["doc_write_failures"] == 0, second

    admin = Couch(demo.url, ("demo-admin", PW))
    everything = admin.ok_json("GET", f"{DB}/_all_docs", params={"include_docs": "true"})["rows"]
    for name, area in PHONES.items():
        expected = {r["id"] for r in everything if r["doc"]["area"].startswith(area)}
        on_phone = set(phones[name].docs())
        # The phone keeps its own refused document locally; everything else is exactly its area.
        assert on_phone - {f"{name}-trespass"} == expected, name
        assert all(f"{name}-d{n}" in expected for n in range(5))
        assert f"{name}-trespass" not in {r["id"] for r in everything}
        denied = [e for e in results[name]["events"] if e["event"] == "denied"]
        assert denied, results[name]
        reasons = " ".join(str(e["data"]) for e in denied)
        assert f"{name}-trespass" in reasons and "area" in reasons, reasons
    # Township staff see both villages' new work; the villages never see each other's.
    assert {"demo-village-d0", "demo-village2-d0"} <= set(phones["demo-township"].docs())
    assert "demo-village2-d0" not in phones["demo-village"].docs()
