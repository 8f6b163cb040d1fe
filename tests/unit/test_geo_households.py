"""Household registry files -> household documents (pure: no store)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from schemas import validate_document
from server.services.geo.households import HouseholdImportError, build_documents, household_id, parse_file

DATA = Path(__file__).resolve().parent.parent / "data" / "geo"
VILLAGE = "990201001001"
NOW = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def docs_from(name: str, **kw) -> list[dict]:
    text = (DATA / name).read_text(encoding="utf-8")
    return build_documents(parse_file(text, "csv" if name.endswith(".csv") else "json"), VILLAGE, "admin",
                           now=NOW, **kw)


def test_csv_fixture():
    docs = docs_from("households.csv")
    assert [d["_id"] for d in docs] == [f"household-{VILLAGE}-A-00{n}" for n in (1, 2, 3)]
    first, second, third = docs
    assert first == {"_id": f"household-{VILLAGE}-A-001", "type": "household", "area": VILLAGE,
                     "created_by": "admin", "created_at": "2024-05-01T09:00:00+08:00", "address": "一组 1 号",
                     "head_name": "王建国", "members": 4,
                     "location": {"lat": 34.31, "lon": 108.71, "crs": "WGS-84"}}
    assert "location" not in second and second["notes"] == "老人独居"
    assert third["location"]["crs"] == "WGS-84"  # the default
    assert all(validate_document(d) == [] for d in docs)


def test_default_crs_applies_to_rows_without_one():
    docs = docs_from("households.csv", default_crs="GCJ-02")
    assert docs[0]["location"]["crs"] == "WGS-84"  # the row says
    assert docs[2]["location"]["crs"] == "GCJ-02"


def test_json_fixture_with_location_objects():
    docs = docs_from("households.json")
    assert docs[0]["location"] == {"lat": 34.312, "lon": 108.715, "crs": "GCJ-02"}
    assert docs[0]["phone"] == "13891234567"
    assert "location" not in docs[1]
    assert docs[0]["_id"].startswith("household-") and docs[0]["_id"] != docs[1]["_id"]


def test_ids_are_stable_and_depend_on_the_household():
    a = household_id(VILLAGE, {"address": "三组  12 号", "head_name": "刘春生"})
    assert a == household_id(VILLAGE, {"address": "三组 12 号", "head_name": "刘春生 "})
    assert a != household_id(VILLAGE, {"address": "三组 12 号", "head_name": "刘冬生"})
    assert a != household_id("990201001002", {"address": "三组 12 号", "head_name": "刘春生"})
    assert household_id(VILLAGE, {"id": "A 7/1", "address": "x"}) == f"household-{VILLAGE}-A-7-1"


@pytest.mark.parametrize("rows,message", [
    ([{"address": ""}], "row 1: address is required"),
    ([{"address": "一组", "lat": "34.3"}], "row 1: location.lon is missing"),
    ([{"address": "一组", "lat": "北纬34", "lon": "108.7"}], "row 1: lat '北纬34' is not a number"),
    ([{"address": "一组", "lat": "0", "lon": "0"}], "0, 0"),
    ([{"address": "一组", "lat": "91", "lon": "108"}], "out of range"),
    ([{"address": "一组", "lat": "34.3", "lon": "108.7", "crs": "wgs84"}], "crs 'wgs84'"),
    ([{"address": "一组", "members": "four"}], "members 'four' is not a whole number"),
    ([{"address": "一组", "members": "0"}], "row 1: members"),
    ([{"address": "一组", "head_name": "王"}, {"address": "一组", "head_name": "王"}], "row 2: the same household as row 1"),
    ([{"address": "ok"}, {"address": "x" * 201}], "row 2: address"),
])
def test_bad_rows_refuse_the_whole_file(rows, message):
    with pytest.raises(HouseholdImportError, match=message):
        build_documents(rows, VILLAGE, "admin", now=NOW)


def test_bad_village_and_format():
    with pytest.raises(HouseholdImportError, match="12-digit village code"):
        build_documents([{"address": "一组"}], "990201001", "admin")
    with pytest.raises(HouseholdImportError, match="list of households"):
        parse_file('{"rows": []}', "json")
    with pytest.raises(HouseholdImportError, match="not JSON"):
        parse_file("address\n", "json")
