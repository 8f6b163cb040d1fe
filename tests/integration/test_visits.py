"""Geotagged visits through the app: documents written through the store (as the accounts phones
use, with the write rules and hooks of `access_for`) and the `visit_checks` rows that result; the
registry and boundary imports; the geocoder against a local fake Nominatim; the ledger API.
Runs on SQLite and on PostgreSQL (a fresh database each)."""
from __future__ import annotations

import base64
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from server import create_app
from server.setup import prepare
from server.services import geo
from server.core.accounts import add_account
from server.core.areas import check_area, import_areas
from server.core.auth import Principal
from server.core.store import get_store
from server.core.db import db
from server.services.geo import crs
from server.services.geo.checks import distance_m, validate_fix
from server.services.geo.tables import TABLES, geo_geocode_cache, geo_households, visit_checks
from server.core.hooks import WriteContext, run_write_hooks
from server.core.models import Account
from sync.access import Access
from sync.results import WriteResult

DATA = Path(__file__).resolve().parent.parent / "data" / "geo"
PASSWORD = "test-password-1"
JIA, YI, BING, DING = "990201001001", "990201001002", "990201001003", "990201001004"
WU, JI = "990202001001", "990202001002"
BARE = "990203001001"  # a district with no boundaries and no centres
HOME_A = (34.31, 108.71)  # household A, in 甲村
PHOTO = b"\xff\xd8\xff\xe0 synthetic jpeg bytes \xff\xd9"

AREAS = [
    ("990201", "测试区"), ("990201001", "测试镇"), (JIA, "甲村"), (YI, "乙村"), (BING, "丙村"), (DING, "丁村"),
    ("990202", "无边界区"), ("990202001", "无边界镇"), (WU, "戊村"), (JI, "己村"),
    ("990203", "空白区"), ("990203001", "空白镇"), (BARE, "空白村"),
]
ACCOUNTS = [
    ("zhao.lei", "township_staff", "990201001"), ("qian.li", "township_staff", "990201001"),
    ("wu.gang", "township_staff", "990202001"), ("zheng.he", "township_staff", "990203001"),
    ("cadre.jia", "village_cadre", JIA), ("sup", "district_supervisor", "990201"),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(request, stores, postgres_available):
    if request.param == "postgresql" and postgres_available:
        if os.environ.get("CI"):
            pytest.fail(postgres_available, pytrace=False)
        pytest.skip(postgres_available)
    app = prepare(create_app({"SQLALCHEMY_DATABASE_URI": stores.new(request.param), "PAICHA_ADMIN_PASSWORD": PASSWORD,
                              "TESTING": True, "PAICHA_GEOCODER_MIN_DELAY_S": 0.0}))
    geo.init_app(app)
    geo.init_app(app)  # idempotent
    with app.app_context():
        import_areas([check_area(code, name) for code, name in AREAS])
        for name, role, scope in ACCOUNTS:
            add_account(name, PASSWORD, role, scope)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["areas", "boundaries", str(DATA / "villages.geojson")])
    assert result.exit_code == 0, result.output
    assert "3 village boundaries and 3 centres imported" in result.output
    write(app, "admin", household("hh-a", JIA, HOME_A), household("hh-b", YI, (34.302, 108.735)),
          household("hh-wu", WU, (34.5005, 108.90)), household("hh-bare", BARE, (30.0, 110.0)))
    yield app
    with app.app_context():
        db.engine.dispose()


# -- helpers -----------------------------------------------------------------------------------------------

def database(app, account: str):
    from server.core.access import access_for

    with app.app_context():
        row = db.session.execute(sa.select(Account).where(Account.name == account)).scalar_one()
        principal = Principal(row.name, row.role, row.scope, row.id)
        db.session.commit()
        return get_store().open(app.config["PAICHA_DOMAIN_DB"], access_for(principal, app.config["PAICHA_DOMAIN_DB"]))


def write(app, account: str, *docs, new_edits: bool = True) -> list[WriteResult]:
    with app.app_context():
        results = database(app, account).bulk_docs(list(docs), new_edits=new_edits)
    if new_edits:
        assert all(r.ok for r in results), results
    return results


def household(doc_id, area, point=None, system="WGS-84", by="admin"):
    doc = {"_id": doc_id, "type": "household", "area": area, "created_by": by,
           "created_at": "2024-05-01T09:00:00+08:00", "address": f"{doc_id} 号"}
    if point is not None:
        doc["location"] = {"lat": point[0], "lon": point[1], "crs": system}
    return doc


def visit(doc_id, visitor, point=None, *, at="2024-05-21T10:05:00+08:00", system="WGS-84", accuracy=10.0,
          hh="hh-a", area=JIA, photo=False):
    doc = {"_id": doc_id, "type": "household_visit", "area": area, "created_by": visitor,
           "created_at": at, "household_id": hh, "visitor": visitor, "visited_at": at, "purpose": "routine"}
    if point is not None:
        doc["fix"] = {"lat": point[0], "lon": point[1], "crs": system, "fix_time": at}
        if accuracy is not None:
            doc["fix"]["accuracy_m"] = accuracy
    if photo:
        doc["_attachments"] = {"photo-1.jpg": {"content_type": "image/jpeg", "data": base64.b64encode(PHOTO).decode()}}
        doc["photos"] = ["photo-1.jpg"]
    return doc


def check(app, visit_id) -> dict | None:
    with app.app_context(), db.engine.connect() as conn:
        row = conn.execute(sa.select(visit_checks).where(visit_checks.c.visit_id == visit_id)).first()
    if row is None:
        return None
    out = row._asdict()
    out["flags"] = json.loads(out["flags"])
    return out


def flags(app, visit_id) -> list[str]:
    return check(app, visit_id)["flags"]


def get_doc(app, account, doc_id):
    with app.app_context():
        return database(app, account).get(doc_id)


# -- a visit and its check --------------------------------------------------------------------------------

def test_a_visit_at_the_household(app):
    near = (34.3105, 108.71)  # 55 m north of household A
    (result,) = write(app, "zhao.lei", visit("v-near", "zhao.lei", near, photo=True))
    row = check(app, "v-near")
    assert row["rev"] == result.rev and row["seq"] > 0
    assert row["flags"] == []
    assert row["distance_m"] == pytest.approx(distance_m(near, HOME_A), abs=0.01)
    assert row["distance_m"] == pytest.approx(55.5, abs=0.2)
    assert row["radius_m"] == 110.0
    assert (row["orig_lat"], row["orig_lon"], row["orig_crs"]) == (34.3105, 108.71, "WGS-84")
    assert (row["lat"], row["lon"]) == near
    assert (row["household_lat"], row["household_lon"], row["household_location_source"]) == (*HOME_A, "registry")
    assert (row["village_found"], row["locate_method"]) == (JIA, "boundary")
    assert (row["visitor"], row["area"], row["household_id"], row["photo_count"]) == ("zhao.lei", JIA, "hh-a", 1)
    # the device's document is untouched: no server fields were written into it
    doc = get_doc(app, "zhao.lei", "v-near")
    assert doc["_rev"] == result.rev and set(doc) - {"_id", "_rev", "_attachments"} == set(
        visit("v-near", "zhao.lei", near, photo=True)) - {"_id", "_attachments"}


@pytest.mark.parametrize("system", ["GCJ-02", "BD-09"])
def test_map_sdk_coordinates_are_converted_and_kept(app, system):
    sent = crs.from_wgs84(*HOME_A, system)
    vid = f"v-{system}"
    write(app, "zhao.lei", visit(vid, "zhao.lei", sent, system=system, at="2024-05-22T10:00:00+08:00"))
    row = check(app, vid)
    assert (row["orig_lat"], row["orig_lon"], row["orig_crs"]) == (*sent, system)
    assert distance_m((row["lat"], row["lon"]), HOME_A) < 0.05
    assert row["distance_m"] < 0.05 and row["flags"] == []
    assert distance_m(sent, HOME_A) > 300  # what a server that ignored crs would have measured


def test_off_site_and_accuracy(app):
    far = (34.3127, 108.71)  # 300 m north of household A
    write(app, "zhao.lei",
          visit("v-far", "zhao.lei", far, at="2024-05-23T09:00:00+08:00"),
          visit("v-far-vague", "zhao.lei", far, accuracy=250.0, at="2024-05-23T15:00:00+08:00"),
          visit("v-far-unknown", "zhao.lei", far, accuracy=None, at="2024-05-23T18:00:00+08:00"))
    assert flags(app, "v-far") == ["off_site"]
    assert check(app, "v-far")["distance_m"] == pytest.approx(299.5, abs=0.5)
    assert flags(app, "v-far-vague") == ["poor_accuracy"]  # radius 100 + 250
    assert check(app, "v-far-vague")["radius_m"] == 350.0
    assert flags(app, "v-far-unknown") == ["poor_accuracy", "off_site"]  # radius 100 + 100 (assumed)


def test_a_visit_without_a_fix_is_accepted_and_flagged(app):
    write(app, "zhao.lei", visit("v-nofix", "zhao.lei", None, at="2024-05-24T10:00:00+08:00"))
    row = check(app, "v-nofix")
    assert row["flags"] == ["missing_fix"]
    assert row["lat"] is None and row["distance_m"] is None and row["village_found"] is None
    assert row["fix_time"] is None


def test_new_revisions_are_rechecked_and_deletion_removes_the_row(app):
    (first,) = write(app, "zhao.lei", visit("v-edit", "zhao.lei", (34.3101, 108.7101), at="2024-05-25T10:00:00+08:00"))
    assert flags(app, "v-edit") == []
    doc = get_doc(app, "zhao.lei", "v-edit")
    doc["fix"] = {**doc["fix"], "lat": 34.3140}
    (second,) = write(app, "zhao.lei", doc)
    row = check(app, "v-edit")
    assert row["rev"] == second.rev != first.rev
    assert row["flags"] == ["off_site"] and row["orig_lat"] == 34.3140
    write(app, "zhao.lei", {"_id": "v-edit", "_rev": second.rev, "_deleted": True})
    assert check(app, "v-edit") is None


def test_impossible_speed_between_consecutive_fixes_even_out_of_order(app):
    a = visit("v-spd-a", "qian.li", HOME_A, at="2024-06-01T09:00:00+08:00")
    c = visit("v-spd-c", "qian.li", (34.305, 108.765), at="2024-06-01T09:10:00+08:00")  # 5.1 km in 10 min
    write(app, "qian.li", a, c)
    assert "impossible_speed" not in flags(app, "v-spd-a") + flags(app, "v-spd-c")
    assert check(app, "v-spd-c")["speed_kmh"] == pytest.approx(
        (distance_m(HOME_A, (34.305, 108.765)) - 20) / 600 * 3.6, rel=1e-6)
    # B arrives late (the phone was offline): 4.5 km from A in one minute
    (b_rev,) = write(app, "qian.li", visit("v-spd-b", "qian.li", (34.35, 108.70), at="2024-06-01T09:01:00+08:00"))
    assert "impossible_speed" in flags(app, "v-spd-a")
    assert "impossible_speed" in flags(app, "v-spd-b")
    assert check(app, "v-spd-b")["speed_with"] == "v-spd-a"
    assert "impossible_speed" not in flags(app, "v-spd-c")  # B -> C is 7.7 km in 9 minutes
    assert check(app, "v-spd-c")["speed_with"] == "v-spd-b"
    # another visitor's fixes are not this visitor's track
    write(app, "zhao.lei", visit("v-spd-other", "zhao.lei", (34.39, 108.70), at="2024-06-01T09:00:30+08:00"))
    assert "impossible_speed" not in flags(app, "v-spd-other")
    # B deleted: A and C are neighbours again, nothing impossible
    write(app, "qian.li", {"_id": "v-spd-b", "_rev": b_rev.rev, "_deleted": True})
    assert "impossible_speed" not in flags(app, "v-spd-a") + flags(app, "v-spd-c")
    assert check(app, "v-spd-a")["speed_with"] == "v-spd-c"


def test_outside_area_and_the_village_found(app):
    write(app, "zhao.lei",
          visit("v-in-yi", "zhao.lei", (34.302, 108.735), at="2024-05-26T09:00:00+08:00"),
          visit("v-on-edge", "zhao.lei", (34.31, 108.7203), at="2024-05-26T11:00:00+08:00"),
          visit("v-in-bing", "zhao.lei", (34.307, 108.727), hh="hh-b", area=YI, at="2024-05-26T13:00:00+08:00"),
          visit("v-nowhere", "zhao.lei", (34.40, 108.60), at="2024-05-26T17:00:00+08:00"))
    row = check(app, "v-in-yi")  # says 甲村, is in 乙村
    assert (row["village_found"], row["locate_method"]) == (YI, "boundary")
    assert "outside_area" in row["flags"]
    row = check(app, "v-on-edge")  # 28 m into 乙村: within the 50 m boundary tolerance of 甲村
    assert row["village_found"] == YI and "outside_area" not in row["flags"]
    row = check(app, "v-in-bing")  # the island in 乙村's hole is 丙村
    assert row["village_found"] == BING and "outside_area" in row["flags"]
    row = check(app, "v-nowhere")  # in no boundary and near no centre
    assert row["village_found"] is None and row["locate_method"] is None
    assert "outside_area" in row["flags"]


def test_a_district_with_village_centres_only(app):
    write(app, "wu.gang",
          visit("v-wu", "wu.gang", (34.501, 108.90), hh="hh-wu", area=WU, at="2024-05-27T09:00:00+08:00"),
          visit("v-wu-at-ji", "wu.gang", (34.519, 108.90), hh="hh-wu", area=WU, at="2024-05-27T11:00:00+08:00"),
          visit("v-wu-far", "wu.gang", (34.60, 108.90), hh="hh-wu", area=WU, at="2024-05-27T15:00:00+08:00"))
    row = check(app, "v-wu")
    assert (row["village_found"], row["locate_method"], row["flags"]) == (WU, "centre", [])
    row = check(app, "v-wu-at-ji")
    assert (row["village_found"], row["locate_method"]) == (JI, "centre")
    assert row["flags"] == ["off_site", "outside_area"]
    row = check(app, "v-wu-far")
    assert row["village_found"] is None and "outside_area" in row["flags"]


def test_a_district_without_any_geography_is_not_judged(app):
    write(app, "zheng.he", visit("v-bare", "zheng.he", (30.0001, 110.0), hh="hh-bare", area=BARE,
                                 at="2024-05-27T09:00:00+08:00"))
    row = check(app, "v-bare")
    assert row["flags"] == [] and row["village_found"] is None


def test_household_location_changes_recheck_its_visits(app):
    write(app, "admin", household("hh-x", JIA))
    write(app, "zhao.lei", visit("v-x", "zhao.lei", (34.315, 108.715), hh="hh-x", at="2024-05-28T09:00:00+08:00"),
          visit("v-x-unknown-hh", "zhao.lei", (34.315, 108.715), hh="hh-nobody", at="2024-05-28T10:00:00+08:00"))
    assert flags(app, "v-x") == ["household_unlocated"]
    assert flags(app, "v-x-unknown-hh") == ["household_unlocated"]
    hh = get_doc(app, "admin", "hh-x")
    write(app, "admin", {**hh, "location": {"lat": 34.305, "lon": 108.715, "crs": "WGS-84"}})
    row = check(app, "v-x")
    assert row["flags"] == ["off_site"] and row["distance_m"] == pytest.approx(1109, abs=2)
    hh = get_doc(app, "admin", "hh-x")
    write(app, "admin", {**hh, "location": {"lat": 34.315, "lon": 108.715, "crs": "WGS-84"}})
    assert flags(app, "v-x") == [] and check(app, "v-x")["distance_m"] < 0.01
    hh = get_doc(app, "admin", "hh-x")
    write(app, "admin", {"_id": "hh-x", "_rev": hh["_rev"], "_deleted": True})
    assert flags(app, "v-x") == ["household_unlocated"]


def test_a_household_and_its_visit_in_one_batch(app):
    write(app, "zhao.lei", household("hh-batch", JIA, (34.3111, 108.7111), by="zhao.lei"),
          visit("v-batch", "zhao.lei", (34.3111, 108.7112), hh="hh-batch", at="2024-05-29T09:00:00+08:00"))
    row = check(app, "v-batch")
    assert row["flags"] == [] and row["distance_m"] == pytest.approx(9.2, abs=0.2)


def test_a_replicated_losing_revision_does_not_replace_the_winner(app):
    (first,) = write(app, "zhao.lei", visit("v-conflict", "zhao.lei", HOME_A, at="2024-05-30T09:00:00+08:00"))
    base = visit("v-conflict", "zhao.lei", HOME_A, at="2024-05-30T09:00:00+08:00")
    parent = first.rev.split("-", 1)[1]
    near = {**base, "_rev": "2-aaaa", "_revisions": {"start": 2, "ids": ["aaaa", parent]}}
    far = {**base, "fix": {**base["fix"], "lat": 34.32}, "_rev": "2-ffff", "_revisions": {"start": 2, "ids": ["ffff", parent]}}
    write(app, "zhao.lei", far, new_edits=False)
    assert check(app, "v-conflict")["rev"] == "2-ffff" and flags(app, "v-conflict") == ["off_site"]
    write(app, "zhao.lei", near, new_edits=False)  # loses to 2-ffff (higher rev id)
    row = check(app, "v-conflict")
    assert row["rev"] == "2-ffff" and row["flags"] == ["off_site"]


def test_validate_fix_as_a_write_rule_refuses_bad_coordinates(app):
    """The lead wires validate_fix into the domain write rules; this is that wiring in miniature."""
    from server.core.access import domain_write_check
    from schemas.rules import Actor

    base_check = domain_write_check(Actor("zhao.lei", "township_staff", "990201001"))

    def check_write(attempt):
        if attempt.new.get("type") == "household_visit":
            reason = validate_fix(attempt.new.get("fix"))
            if reason:
                return reason
        return base_check(attempt)

    with app.app_context():
        access = Access(user="zhao.lei", read_prefixes=("990201001",), check_write=check_write,
                        record_writes=run_write_hooks(app, WriteContext("paicha", "zhao.lei", None)))
        dbh = get_store().open("paicha", access)
        bad = visit("v-null-island", "zhao.lei", (0, 0), at="2024-05-31T09:00:00+08:00")
        results = dbh.bulk_docs([bad, visit("v-fine", "zhao.lei", HOME_A, at="2024-05-31T10:00:00+08:00")])
    assert results[0].error.error == "forbidden" and "0, 0" in results[0].error.reason
    assert results[1].ok
    assert check(app, "v-null-island") is None and check(app, "v-fine")["flags"] == []


def test_a_fix_the_rules_did_not_refuse_is_flagged_invalid(app):
    with app.app_context():
        access = Access(user="admin", is_admin=True,
                        record_writes=run_write_hooks(app, WriteContext("paicha", "admin", None)))
        get_store().open("paicha", access).bulk_docs([
            visit("v-zero", "zhao.lei", (0.0, 0.0), at="2024-05-31T11:00:00+08:00")])
    assert flags(app, "v-zero") == ["invalid_fix"]


def test_a_failing_check_does_not_refuse_the_visit(app, monkeypatch):
    from server.services.geo import locate

    def broken(*_a, **_k):
        raise RuntimeError("boom")

    monkeypatch.setattr(locate, "locate", broken)
    write(app, "zhao.lei", visit("v-broken", "zhao.lei", HOME_A, at="2024-05-31T12:00:00+08:00"))
    assert flags(app, "v-broken") == ["check_error"]
    monkeypatch.undo()
    result = app.test_cli_runner().invoke(args=["visits", "recheck", "--area", JIA])
    assert result.exit_code == 0, result.output
    assert flags(app, "v-broken") == []


def test_writes_to_other_databases_are_not_geotagged(app):
    with app.app_context():
        store = get_store()
        store.create_database("sandbox", exist_ok=True)
        access = Access(user="admin", is_admin=True,
                        record_writes=run_write_hooks(app, WriteContext("sandbox", "admin", None)))
        store.open("sandbox", access).bulk_docs([visit("v-sandbox", "zhao.lei", HOME_A)])
    assert check(app, "v-sandbox") is None


# -- imports and recheck ----------------------------------------------------------------------------------

def household_rows(app, area):
    with app.app_context(), db.engine.connect() as conn:
        return {r.doc_id: r for r in conn.execute(sa.select(geo_households).where(geo_households.c.area == area))}


def test_import_households_from_csv(app, tmp_path):
    runner = app.test_cli_runner()
    args = ["households", "import", str(DATA / "households.csv"), "--village", JIA, "--as", "admin"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "3 households created, 0 updated, 0 unchanged" in result.output
    doc = get_doc(app, "cadre.jia", f"household-{JIA}-A-001")  # synced to the village's phones
    assert doc["address"] == "一组 1 号" and doc["created_by"] == "admin"
    rows = household_rows(app, JIA)
    assert (rows[f"household-{JIA}-A-001"].lat, rows[f"household-{JIA}-A-001"].location_source) == (34.31, "registry")
    assert rows[f"household-{JIA}-A-002"].lat is None
    # again: nothing changes
    result = runner.invoke(args=args)
    assert "0 households created, 0 updated, 3 unchanged" in result.output
    # --update takes the file's new fields and keeps what it does not say
    changed = tmp_path / "changed.csv"
    changed.write_text((DATA / "households.csv").read_text(encoding="utf-8").replace("王建国,4", "王建国,5"),
                       encoding="utf-8")
    result = runner.invoke(args=["households", "import", str(changed), "--village", JIA, "--as", "admin", "--update"])
    assert "0 households created, 1 updated, 2 unchanged" in result.output, result.output
    doc = get_doc(app, "admin", f"household-{JIA}-A-001")
    assert doc["members"] == 5 and doc["updated_by"] == "admin" and doc["_rev"].startswith("2-")


def test_import_households_from_json_in_gcj02(app):
    result = app.test_cli_runner().invoke(args=["households", "import", str(DATA / "households.json"),
                                                "--village", YI, "--as", "admin"])
    assert result.exit_code == 0, result.output
    rows = [r for r in household_rows(app, YI).values() if r.address == "三组 12 号"]
    assert len(rows) == 1
    assert (rows[0].orig_lat, rows[0].orig_lon, rows[0].orig_crs) == (34.312, 108.715, "GCJ-02")
    assert distance_m((rows[0].lat, rows[0].lon), crs.gcj02_to_wgs84(34.312, 108.715)) < 0.01


def test_a_bad_registry_file_writes_nothing(app, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("address,lat,lon\n五组 1 号,34.3,108.7\n,34.3,108.7\n五组 3 号,0,0\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["households", "import", str(bad), "--village", DING, "--as", "admin"])
    assert result.exit_code != 0
    assert "row 2: address is required" in result.output and "row 3:" in result.output
    assert household_rows(app, DING) == {}
    result = app.test_cli_runner().invoke(args=["households", "import", str(DATA / "households.csv"),
                                                "--village", "990299001001"])
    assert result.exit_code != 0 and "unknown village" in result.output
    result = app.test_cli_runner().invoke(args=["households", "import", str(DATA / "households.csv"),
                                                "--village", DING, "--as", "nobody"])
    assert result.exit_code != 0 and "no active account" in result.output


def test_recheck_rebuilds_from_the_documents(app):
    write(app, "zhao.lei", visit("v-rebuild", "zhao.lei", (34.3105, 108.71), at="2024-06-02T09:00:00+08:00"))
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(visit_checks.delete().where(visit_checks.c.visit_id == "v-rebuild"))
    assert check(app, "v-rebuild") is None
    result = app.test_cli_runner().invoke(args=["visits", "recheck", "--area", "990201"])
    assert result.exit_code == 0, result.output
    assert check(app, "v-rebuild")["distance_m"] == pytest.approx(55.5, abs=0.2)
    result = app.test_cli_runner().invoke(args=["visits", "list", "--area", JIA, "--flag", "off_site"])
    assert "v-far\t" in result.output and "v-rebuild" not in result.output


def test_bad_boundary_file_is_refused(app, tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "99"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}))
    result = app.test_cli_runner().invoke(args=["areas", "boundaries", str(bad)])
    assert result.exit_code != 0 and "12-digit village code" in result.output


# -- the geocoder, against a local fake Nominatim ----------------------------------------------------------

class FakeNominatim:
    """Answers /search like Nominatim: a place for addresses it knows, [] otherwise, 500 for 'broken'."""

    def __init__(self, places: dict[str, tuple[float, float]]):
        self.places = places
        self.requests: list[tuple[float, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                query = parse_qs(urlsplit(self.path).query)
                q = query.get("q", [""])[0]
                fake.requests.append((time.monotonic(), q))
                if urlsplit(self.path).path != "/search" or query.get("format") != ["json"]:
                    self.send_response(404)
                    self.end_headers()
                    return
                if "broken" in q:
                    self.send_response(500)
                    self.end_headers()
                    return
                hits = [{"place_id": 1, "lat": str(lat), "lon": str(lon), "display_name": f"{key}, 测试"}
                        for key, (lat, lon) in fake.places.items() if key in q]
                body = json.dumps(hits[:1]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_geocoder_places_unlocated_households_rate_limited_and_cached(app):
    from server.services.geo.households import geocode_households

    write(app, "admin", household("hh-geo-1", DING), household("hh-geo-2", DING),
          {**household("hh-geo-3", DING), "address": "查无此地"}, {**household("hh-geo-4", DING), "address": "broken"})
    write(app, "zhao.lei", visit("v-geo", "zhao.lei", (34.353, 108.70), hh="hh-geo-1", area=DING,
                                 at="2024-06-03T09:00:00+08:00"))
    assert flags(app, "v-geo") == ["household_unlocated"]
    places = {"hh-geo-1 号": (34.35, 108.70), "hh-geo-2 号": (34.351, 108.701)}
    config = {"PAICHA_GEOCODER": "nominatim", "PAICHA_GEOCODER_MIN_DELAY_S": 0.3}
    with FakeNominatim(places) as fake:
        config["PAICHA_GEOCODER_URL"] = fake.url
        saved = {k: app.config[k] for k in config}
        app.config.update(config)
        try:
            with app.app_context():
                report = geocode_households(app, DING)
                assert (report.looked_up, report.placed, report.not_found) == (3, 2, ["hh-geo-3"])
                assert len(report.failed) == 1 and report.failed[0].startswith("hh-geo-4")
                asked = [q for _, q in fake.requests]
                assert asked[0] == "hh-geo-1 号, 丁村, 测试镇, 测试区"
                times = [t for t, _ in fake.requests]
                # RateLimiter spacing, measured where the requests arrive (a few ms of jitter)
                assert all(b - a >= 0.25 for a, b in zip(times, times[1:]))
                assert times[-1] - times[0] >= 0.3 * (len(times) - 1) - 0.05
                n = len(fake.requests)
                again = geocode_households(app, DING)  # only the failed one is asked again
                assert (again.looked_up, again.placed) == (0, 0) and len(fake.requests) - n in (1, 2)
        finally:
            app.config.update(saved)
    rows = household_rows(app, DING)
    assert (rows["hh-geo-1"].lat, rows["hh-geo-1"].lon, rows["hh-geo-1"].location_source) == (34.35, 108.70, "geocoder")
    assert rows["hh-geo-3"].lat is None
    row = check(app, "v-geo")  # rechecked against the geocoded point, with the extra room
    assert row["household_location_source"] == "geocoder" and row["radius_m"] == 610.0
    assert row["distance_m"] == pytest.approx(333, abs=2) and row["flags"] == []
    with app.app_context(), db.engine.connect() as conn:
        cached = conn.execute(sa.select(geo_geocode_cache.c.query, geo_geocode_cache.c.found)).all()
    assert ("查无此地, 丁村, 测试镇, 测试区", False) in cached
    assert not any("broken" in q for q, _ in cached)  # failures are not cached
    # the household document was not touched: the geocoded point lives in the index only
    assert "location" not in get_doc(app, "admin", "hh-geo-1")
    # a later registry location replaces the geocoded one
    hh = get_doc(app, "admin", "hh-geo-1")
    write(app, "admin", {**hh, "location": {"lat": 34.353, "lon": 108.70, "crs": "WGS-84"}})
    assert household_rows(app, DING)["hh-geo-1"].location_source == "registry"
    assert check(app, "v-geo")["radius_m"] == 110.0


def test_geocoding_needs_configuration(app):
    result = app.test_cli_runner().invoke(args=["households", "geocode", "--area", DING])
    assert result.exit_code != 0 and "no geocoder is configured" in result.output


# -- the ledger API ---------------------------------------------------------------------------------------

def basic(name):
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()}


def test_ledger_api(app):
    write(app, "zhao.lei", visit("v-ledger", "zhao.lei", (34.3127, 108.71), at="2024-06-04T09:00:00+08:00"))
    client = app.test_client()
    r = client.get(f"/_geo/visits?area={JIA}&since=2024-06-04&until=2024-06-04", headers=basic("sup"))
    assert r.status_code == 200, r.text
    (row,) = r.json["visits"]
    assert row["visit_id"] == "v-ledger" and row["flags"] == ["off_site"]
    assert row["distance_m"] == pytest.approx(299.5, abs=0.5)
    assert row["fix"] == {"lat": 34.3127, "lon": 108.71, "crs": "WGS-84"}
    assert row["visited_at"] == "2024-06-04T09:00:00+08:00"
    r = client.get("/_geo/visits?flag=off_site&limit=1000", headers=basic("zhao.lei"))
    assert r.status_code == 200 and r.json["area"] == "990201001"
    assert {v["visit_id"] for v in r.json["visits"]} >= {"v-ledger", "v-far"}
    assert all("off_site" in v["flags"] for v in r.json["visits"])
    r = client.get("/_geo/coverage?area=990201001", headers=basic("admin"))
    villages = {v["area"]: v for v in r.json["villages"]}
    assert set(villages) >= {JIA, YI, BING, DING}
    assert villages[BING]["visits"] == 0 or villages[BING]["households"] == 0
    jia = villages[JIA]
    assert jia["name"] == "甲村" and jia["visits"] >= 10 and jia["households"] >= 2
    assert jia["flags"]["off_site"] >= 2 and jia["visits_flagged"] <= jia["visits"]
    assert client.get("/_geo/visits", headers=basic("cadre.jia")).status_code == 403
    assert client.get("/_geo/visits?area=990202", headers=basic("sup")).status_code == 403
    assert client.get("/_geo/visits").status_code == 401
    assert client.get("/_geo/visits?since=June", headers=basic("sup")).status_code == 400


# -- the migration ----------------------------------------------------------------------------------------

def test_migration_matches_the_table_definitions(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    names = {t.name for t in TABLES}
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), TABLES[0].metadata)
    ours = [d for d in diff if _table_of(d) in names]
    assert ours == []


def _table_of(diff) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None) if not isinstance(part, str) else None
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return table.name
        if hasattr(part, "columns") and name:
            return name
        if isinstance(part, str):
            return part
    return None


def test_create_app_installs_geotagging(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'wired.sqlite3'}", "TESTING": True})
    try:
        assert app.extensions.get("paicha_geo")
        assert {"households", "visits"} <= set(app.cli.commands)
        assert "boundaries" in app.cli.commands["areas"].commands
    finally:
        with app.app_context():
            db.engine.dispose()
