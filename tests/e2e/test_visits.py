"""A township officer's real PouchDB phone pulls the village's household registry, records visits
offline (GPS fixes in WGS-84 and GCJ-02, one without a fix, each with a photo attachment), pushes
them, and the server's visit ledger (GET /_geo/visits) shows where each visit happened, how far from
the household, and the right flags. An edit on the phone is rechecked. SQLite and PostgreSQL.

Setup goes through the administrators' CLI (`areas import`, `users add`, `areas boundaries`,
`households import`) on the same store before the server starts."""
from __future__ import annotations

import json

import pytest
from geopy.distance import geodesic

from server.services.geo import crs
from support import TESTS_DIR
from support.checks import b64, md5_digest, random_bytes
from support.cli import flask_cli
from support.http import Couch
from support.server import REFERENCE_RUN, ServerProcess

pytestmark = pytest.mark.skipif(REFERENCE_RUN, reason="visit checks are Paicha's own, pouchdb-server has none")

DB = "paicha"
PW = "e2e-visits-pw"
JIA = "990201001001"
DATA = TESTS_DIR / "data" / "geo"
HH_A, HH_B, HH_UNLOCATED = (f"household-{JIA}-A-00{n}" for n in (1, 3, 2))
HOME_A, HOME_B = (34.31, 108.71), (34.311, 108.711)  # as in tests/data/geo/households.csv (WGS-84)
PHOTOS = {n: random_bytes(40 * 1024 + n, seed=f"visit-photo-{n}".encode()) for n in range(1, 8)}

def flask(store_url: str, *args: str, in_process: bool = True) -> str:
    proc = flask_cli(store_url, *args, in_process=in_process)
    assert proc.returncode == 0, f"flask {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def geo_server(store_kind, stores, tmp_path_factory):
    url = stores.new(store_kind)
    areas = tmp_path_factory.mktemp("geo") / "areas.json"
    areas.write_text(json.dumps([{"code": "990201", "name": "测试区"}, {"code": "990201001", "name": "测试镇"},
                                 {"code": JIA, "name": "甲村"}, {"code": "990201001002", "name": "乙村"},
                                 {"code": "990201001003", "name": "丙村"}, {"code": "990201001004", "name": "丁村"}],
                                ensure_ascii=False), encoding="utf-8")
    flask(url, "areas", "import", str(areas), in_process=False)  # the `flask` script itself
    flask(url, "users", "add", "zhao.lei", "--role", "township_staff", "--scope", "990201001", "--password", PW)
    flask(url, "users", "add", "sup", "--role", "district_supervisor", "--scope", "990201", "--password", PW)
    flask(url, "users", "add", "registrar", "--role", "admin", "--password", PW)
    assert "3 village boundaries" in flask(url, "areas", "boundaries", str(DATA / "villages.geojson"))
    assert "3 households created" in flask(url, "households", "import", str(DATA / "households.csv"),
                                           "--village", JIA, "--as", "registrar")
    srv = ServerProcess(url, name=f"visits-{store_kind}")
    srv.start()
    yield srv
    srv.close()


def visit(n: int, at: str, point=None, system="WGS-84", accuracy=8.0, household=HH_A) -> dict:
    doc = {"_id": f"visit-e2e-{n}", "type": "household_visit", "area": JIA, "created_by": "zhao.lei",
           "created_at": at, "household_id": household, "visitor": "zhao.lei", "visited_at": at,
           "purpose": "routine", "notes": "（测试）入户走访",
           "_attachments": {"photo-1.jpg": {"content_type": "image/jpeg", "data": b64(PHOTOS[n])}},
           "photos": ["photo-1.jpg"]}
    if point is not None:
        doc["fix"] = {"lat": point[0], "lon": point[1], "accuracy_m": accuracy, "fix_time": at, "crs": system}
    return doc


def metres(a, b) -> float:
    return geodesic(a, b).meters


def ledger(srv) -> dict[str, dict]:
    sup = Couch(srv.url, ("sup", PW))
    body = sup.ok_json("GET", "_geo/visits", params={"area": JIA, "since": "2024-06-10", "until": "2024-06-10"})
    return {row["visit_id"]: row for row in body["visits"]}


def test_phone_visits_reach_the_ledger_with_distances_and_flags(geo_server, device_factory):
    phone = device_factory("zhao.lei", auth={"username": "zhao.lei", "password": PW})
    remote = f"{geo_server.url}/{DB}"
    pulled = phone.pull(remote)
    assert pulled["ok"], pulled
    assert {HH_A, HH_B, HH_UNLOCATED} <= set(phone.docs())  # the registry synced to the phone

    gcj_b = crs.wgs84_to_gcj02(*HOME_B)  # what an AMap-based app reports standing at household B
    yi, ding = (34.302, 108.735), (34.35, 108.70)
    phone.put(
        visit(1, "2024-06-10T09:00:00+08:00", (34.3102, 108.7101)),  # at household A
        visit(2, "2024-06-10T10:00:00+08:00", gcj_b, system="GCJ-02", household=HH_B),
        visit(3, "2024-06-10T11:00:00+08:00", (34.3127, 108.71)),  # 300 m north of A
        visit(4, "2024-06-10T12:00:00+08:00", None, household=HH_UNLOCATED),  # no fix
        visit(5, "2024-06-10T13:00:00+08:00", yi),  # claims 甲村, stands in 乙村
        visit(6, "2024-06-10T13:02:00+08:00", ding),  # 6 km further two minutes later
    )
    pushed = phone.push(remote)
    assert pushed["ok"] and pushed["push"]["docs_written"] == 6, pushed
    assert pushed["push"]["doc_write_failures"] == 0

    rows = ledger(geo_server)
    assert set(rows) == {f"visit-e2e-{n}" for n in range(1, 7)}
    expected_flags = {
        1: [], 2: [], 3: ["off_site"], 4: ["missing_fix"],
        5: ["off_site", "impossible_speed", "outside_area"],
        6: ["off_site", "impossible_speed", "outside_area"],
    }
    for n, flags in expected_flags.items():
        assert rows[f"visit-e2e-{n}"]["flags"] == flags, (n, rows[f"visit-e2e-{n}"])
    expected_distance = {1: metres((34.3102, 108.7101), HOME_A), 2: 0.0, 3: metres((34.3127, 108.71), HOME_A),
                         5: metres(yi, HOME_A), 6: metres(ding, HOME_A)}
    for n, distance in expected_distance.items():
        assert rows[f"visit-e2e-{n}"]["distance_m"] == pytest.approx(distance, abs=0.1), n
    assert rows["visit-e2e-4"]["distance_m"] is None
    # where, in which system: the GCJ-02 fix is kept as sent and stored in WGS-84
    two = rows["visit-e2e-2"]
    assert two["fix"] == {"lat": gcj_b[0], "lon": gcj_b[1], "crs": "GCJ-02"}
    assert metres((two["wgs84"]["lat"], two["wgs84"]["lon"]), HOME_B) < 0.05
    assert metres(gcj_b, HOME_B) > 300  # the offset the conversion removed
    # which village the point is in
    assert [rows[f"visit-e2e-{n}"]["village_found"] for n in (1, 3, 5)] == [JIA, JIA, "990201001002"]
    assert rows["visit-e2e-6"]["village_found"] == "990201001004"  # nearest centre: 丁村 has no boundary
    assert rows["visit-e2e-6"]["locate_method"] == "centre"
    assert rows["visit-e2e-5"]["speed_with"] == "visit-e2e-6" and rows["visit-e2e-6"]["speed_kmh"] > 120
    assert all(row["photo_count"] == 1 for row in rows.values())

    # the photos arrived, and the documents are exactly what the phone wrote (no server fields)
    admin = Couch(geo_server.url, ("registrar", PW))
    for n in range(1, 7):
        doc = admin.ok_json("GET", f"{DB}/visit-e2e-{n}")
        assert doc["_attachments"]["photo-1.jpg"]["digest"] == md5_digest(PHOTOS[n])
        assert doc == {**phone.get(f"visit-e2e-{n}"), "_attachments": doc["_attachments"]}
        assert rows[f"visit-e2e-{n}"]["rev"] == doc["_rev"]

    # the officer corrects visit 3 on the phone (the fix was taken on the road): rechecked on push
    three = phone.get("visit-e2e-3")
    three["fix"] = {**three["fix"], "lat": 34.3101, "lon": 108.7101}
    (edited,) = phone.put(three)
    assert phone.push(remote)["push"]["docs_written"] == 1
    row = ledger(geo_server)["visit-e2e-3"]
    assert row["rev"] == edited["rev"] and row["flags"] == []
    assert row["distance_m"] == pytest.approx(metres((34.3101, 108.7101), HOME_A), abs=0.1)

    coverage = Couch(geo_server.url, ("sup", PW)).ok_json(
        "GET", "_geo/coverage", params={"area": "990201001", "since": "2024-06-10", "until": "2024-06-10"})
    jia = next(v for v in coverage["villages"] if v["area"] == JIA)
    assert (jia["households"], jia["households_located"], jia["households_visited"]) == (3, 2, 3)
    assert (jia["visits"], jia["visits_flagged"]) == (6, 3)
    assert jia["flags"]["impossible_speed"] == 2 and jia["flags"]["missing_fix"] == 1


def test_bad_coordinates_are_refused_with_a_reason(geo_server, device_factory):
    phone = device_factory("zhao.lei", auth={"username": "zhao.lei", "password": PW})
    phone.put(visit(7, "2024-06-11T09:00:00+08:00", (0, 0)))
    result = phone.push(f"{geo_server.url}/{DB}", check=False)
    denied = [e for e in result.get("events", []) if e["event"] == "denied"]
    assert denied and "0, 0" in json.dumps(denied, ensure_ascii=False), result
