"""Schema files, examples and validate_document."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # no packaging config yet; make `import schemas` work from pytest
    sys.path.insert(0, str(ROOT))

from jsonschema import Draft202012Validator, FormatChecker  # noqa: E402

import schemas  # noqa: E402
from schemas import (  # noqa: E402
    BASE_URI,
    DOC_TYPES,
    EXAMPLES_DIR,
    SCHEMA_DIR,
    UnknownDocumentType,
    all_schemas,
    load_schema,
    registry,
    validate_document,
    validator_for,
)

TYPES = sorted(DOC_TYPES)


def example(doc_type: str) -> dict:
    return json.loads((EXAMPLES_DIR / f"{doc_type}.json").read_text(encoding="utf-8"))


def refs_in(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from refs_in(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs_in(v)


# -- the files --------------------------------------------------------------------------------


def test_doc_types():
    assert DOC_TYPES == {
        "household",
        "screening_round",
        "screening_report",
        "dispute",
        "household_visit",
        "supervision_notice",
        "notice_reply",
        "matter_step",
        "reminder",
        "report_review",
        "refusal_notice",
    }
    assert isinstance(DOC_TYPES, frozenset)


def test_one_schema_file_and_one_example_per_type():
    files = {p.name for p in SCHEMA_DIR.glob("*.schema.json")}
    assert files == {f"{t}.schema.json" for t in DOC_TYPES} | {"common.schema.json"}
    assert {p.stem for p in EXAMPLES_DIR.glob("*.json")} == set(DOC_TYPES)


@pytest.mark.parametrize("name", sorted(all_schemas()))
def test_schema_file_is_valid_draft_2020_12(name):
    schema = all_schemas()[name]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == BASE_URI + name


@pytest.mark.parametrize("name", sorted(all_schemas()))
def test_every_ref_resolves_offline(name):
    schema = all_schemas()[name]
    resolver = registry().resolver(base_uri=schema["$id"])
    refs = list(refs_in(schema))
    assert refs or name == "common.schema.json"
    for ref in refs:
        assert not ref.startswith("http"), "refs between files should be relative"
        assert resolver.lookup(ref).contents is not None


@pytest.mark.parametrize("doc_type", TYPES)
def test_type_schema_shape(doc_type):
    schema = load_schema(doc_type)
    assert schema["properties"]["type"] == {"const": doc_type}
    assert {"type", "area", "created_by", "created_at"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
    assert "^_" in schema["patternProperties"]  # CouchDB fields pass when an app validates a raw doc


def test_load_schema_returns_a_copy_and_refuses_unknown():
    s = load_schema("dispute")
    s["properties"].clear()
    assert load_schema("dispute")["properties"]
    with pytest.raises(UnknownDocumentType, match="unknown document type 'nope'"):
        load_schema("nope")
    with pytest.raises(ValueError):
        load_schema("common")


def test_global_format_checker_untouched():
    # we register our own date-time checker on our own FormatChecker instance only
    assert FormatChecker.checkers.get("date-time") is None or FormatChecker.checkers["date-time"][0] is not schemas._formats.is_date_time


# -- examples ---------------------------------------------------------------------------------


@pytest.mark.parametrize("doc_type", TYPES)
def test_example_is_valid(doc_type):
    doc = example(doc_type)
    assert doc["type"] == doc_type
    assert validate_document(doc) == []


@pytest.mark.parametrize("doc_type", TYPES)
def test_example_valid_against_raw_schema_with_couchdb_fields(doc_type):
    """What a mobile app does: validate the PouchDB doc as is, _id/_rev included."""
    doc = example(doc_type)
    doc.update({"_id": doc.get("_id", "x"), "_rev": "3-917fa2381192822767f010b95b45325b"})
    assert list(validator_for(doc_type).iter_errors(doc)) == []


@pytest.mark.parametrize("doc_type", TYPES)
def test_couchdb_fields_are_ignored(doc_type):
    doc = example(doc_type)
    doc.update(
        {
            "_id": "abc",
            "_rev": "2-7051cbe5c8faecd085a3fa619e6e6337",
            "_revisions": {"start": 2, "ids": ["7051cbe5c8faecd085a3fa619e6e6337", "967a00dff5e02add41819138abb3284d"]},
            "_attachments": {"a.jpg": {"stub": True, "digest": "md5-x", "length": 3, "content_type": "image/jpeg"}},
            "_deleted": False,
            "_conflicts": ["2-b91bb807b4685080c6a651115ff558f5"],
            "_local_seq": 7,
        }
    )
    assert validate_document(doc) == []


def test_validate_does_not_mutate_input():
    doc = example("dispute")
    doc["_id"] = "x"
    before = copy.deepcopy(doc)
    validate_document(doc)
    assert doc == before


# -- acceptable variations --------------------------------------------------------------------


@pytest.mark.parametrize(
    "ts",
    [
        "2024-05-11T09:30:00+08:00",
        "2024-05-11T01:30:00Z",
        "2024-05-11T01:30:00.123Z",  # JavaScript Date.toISOString()
        "2024-05-11T09:30:00.123456+08:00",  # Python isoformat()
        "2024-05-10T21:30:00-04:00",
    ],
)
def test_timestamps_accepted(ts):
    doc = example("household")
    doc["created_at"] = ts
    assert validate_document(doc) == []


def test_visit_without_fix_is_allowed():
    doc = example("household_visit")
    del doc["fix"]
    del doc["photos"]
    assert validate_document(doc) == []


@pytest.mark.parametrize("crs", ["WGS-84", "GCJ-02", "BD-09"])
def test_fix_crs_accepted(crs):
    doc = example("household_visit")
    doc["fix"]["crs"] = crs
    assert validate_document(doc) == []


def test_nil_report():
    doc = example("screening_report")
    doc["nil_report"] = True
    del doc["disputes"]
    assert validate_document(doc) == []
    doc["disputes"] = []
    assert validate_document(doc) == []


@pytest.mark.parametrize("level,area", [("village", "610402001001"), ("township", "610402001"), ("district", "610402"), ("quarterly", "610402")])
def test_round_levels(level, area):
    doc = example("screening_round")
    doc.update(level=level, area=area)
    assert validate_document(doc) == []


def test_minimal_dispute():
    doc = {
        "type": "dispute",
        "area": "610402001001",
        "created_by": "liu.fang",
        "created_at": "2024-05-14T09:20:00+08:00",
        "summary": "拖欠务工工资",
        "parties": [{"name": "张三", "role": "applicant"}],
        "category": "labour",
        "risk_level": "low",
        "status": "registered",
    }
    assert validate_document(doc) == []


# -- refusals ---------------------------------------------------------------------------------


def _set(path, value):
    def mutate(doc):
        *parents, last = path
        node = doc
        for p in parents:
            node = node[p]
        node[last] = value

    return mutate


def _del(*path):
    def mutate(doc):
        *parents, last = path
        node = doc
        for p in parents:
            node = node[p]
        del node[last]

    return mutate


BAD = [
    # (doc type, mutation, substring expected in one message)
    ("household", _del("area"), "missing required field 'area'"),
    ("household", _del("created_by"), "missing required field 'created_by'"),
    ("household", _del("created_at"), "missing required field 'created_at'"),
    ("household", _del("address"), "missing required field 'address'"),
    ("household", _set(["area"], "61040"), "area:"),
    ("household", _set(["area"], "6104020010"), "area:"),
    ("household", _set(["area"], "61040200100a"), "area:"),
    ("household", _set(["area"], "610402001"), "village area code"),  # households live in villages
    ("household", _set(["area"], "６１０４０２００１００１"), "area:"),  # full-width digits
    ("household", _set(["area"], "٦١٠٤٠٢٠٠١٠٠١"), "area:"),  # Arabic-Indic digits
    ("household", _set(["area"], " 610402001001"), "area:"),
    ("household", _set(["area"], 610402001001), "area: expected a text"),
    ("household", _set(["created_at"], "2024-05-11T09:30:00"), "created_at:"),  # no offset
    ("household", _set(["created_at"], "2024-05-11 09:30:00+08:00"), "created_at:"),
    ("household", _set(["created_at"], "2024-05-11"), "created_at:"),
    ("household", _set(["created_at"], "2024-05-11T09:30+08:00"), "created_at:"),  # no seconds
    ("household", _set(["created_at"], "2024-02-30T09:30:00+08:00"), "created_at:"),  # no such day
    ("household", _set(["created_at"], "2024-05-11T25:30:00+08:00"), "created_at:"),
    ("household", _set(["created_at"], "2024-05-11T09:30:00+24:00"), "created_at:"),
    ("household", _set(["created_at"], 1715391000), "created_at: expected a text"),
    ("household", _set(["location"], {"lat": 91, "lon": 108.7, "crs": "WGS-84"}), "location.lat:"),
    ("household", _set(["location"], {"lat": 34.3, "lon": "abc", "crs": "WGS-84"}), "location.lon: expected a number"),
    ("household", _set(["location"], {"lat": 34.3, "lon": 108.7}), "missing required field 'crs'"),
    ("household", _set(["nickname"], "x"), "unexpected field 'nickname'"),
    ("household", _set(["created_by"], ""), "created_by:"),
    ("household_visit", _set(["fix", "lat"], 91), "fix.lat: 91 is not a latitude"),
    ("household_visit", _set(["fix", "lat"], -90.0001), "fix.lat:"),
    ("household_visit", _set(["fix", "lon"], "abc"), "fix.lon: expected a number, got 'abc'"),
    ("household_visit", _set(["fix", "lon"], 180.5), "fix.lon:"),
    ("household_visit", _set(["fix", "lon"], True), "fix.lon: expected a number"),
    ("household_visit", _set(["fix", "lat"], float("nan")), "fix.lat: nan is not a finite number"),
    ("household_visit", _set(["fix", "lon"], float("inf")), "fix.lon:"),
    ("household_visit", _set(["photos"], ["a.jpg", float("-inf")]), "photos[1]: -inf is not a finite number"),
    ("household_visit", _set(["fix", "crs"], "CGCS2000"), "fix.crs:"),
    ("household_visit", _set(["fix", "accuracy_m"], -1), "fix.accuracy_m:"),
    ("household_visit", _del("fix", "fix_time"), "fix: missing required field 'fix_time'"),
    ("household_visit", _set(["fix", "fix_time"], "2024-05-21T10:04:51"), "fix.fix_time:"),
    ("household_visit", _set(["fix", "altitude"], 400), "fix: unexpected field 'altitude'"),
    ("household_visit", _del("household_id"), "missing required field 'household_id'"),
    ("household_visit", _set(["area"], "610402001"), "area:"),
    ("household_visit", _set(["photos"], ["a.jpg", "a.jpg"]), "photos: contains duplicates"),
    ("household_visit", _set(["photos"], ["_x.jpg"]), "photos[0]:"),
    ("screening_round", _set(["level"], "weekly"), "level:"),
    ("screening_round", _set(["area"], "610402001"), "area:"),  # village round, township code
    ("screening_round", _set(["period_start"], "2024-05-11T00:00:00+08:00"), "period_start:"),
    ("screening_round", _set(["due_date"], "2024-5-20"), "due_date:"),
    ("screening_round", _set(["period_end"], "2024-05-01"), "period_end: the period ends before it starts"),
    ("screening_round", _set(["due_date"], "2024-05-01"), "due_date:"),
    ("screening_round", _del("round_key"), "missing required field 'round_key'"),
    ("screening_report", _del("round_id"), "missing required field 'round_id'"),
    ("screening_report", _set(["nil_report"], "false"), "nil_report: expected true or false"),
    ("screening_report", _set(["nil_report"], True), "disputes: must be empty"),
    ("screening_report", _set(["disputes"], []), "disputes: must not be empty"),
    ("screening_report", _del("disputes"), "missing required field 'disputes'"),
    ("screening_report", _set(["submitted_at"], "2024-05-19T16:42:30"), "submitted_at:"),
    ("dispute", _set(["parties"], []), "parties: must not be empty"),
    ("dispute", _set(["parties", 0, "role"], "boss"), "parties[0].role:"),
    ("dispute", _del("parties", 1, "name"), "parties[1]: missing required field 'name'"),
    ("dispute", _set(["parties", 1, "phone"], "call me"), "parties[1].phone:"),
    ("dispute", _set(["category"], "gossip"), "category:"),
    ("dispute", _set(["category"], "other"), "missing required field 'category_detail'"),
    ("dispute", _set(["risk_level"], "extreme"), "risk_level:"),
    ("dispute", _set(["status"], "pending"), "status:"),
    ("dispute", _del("resolved_at"), "missing required field 'resolved_at'"),  # status resolved
    ("dispute", _del("outcome"), "missing required field 'outcome'"),
    ("dispute", _set(["satisfaction"], "happy"), "satisfaction:"),
    ("dispute", _set(["one_time_resolution"], "yes"), "one_time_resolution:"),
    ("dispute", _set(["escalation", 0, "to_area"], "610403"), "escalation[0].to_area:"),  # not above the dispute
    ("dispute", _set(["escalation", 0, "to_area"], "610402001001"), "escalation[0]: from_area and to_area are the same"),
    ("dispute", _del("escalation", 0, "reason"), "escalation[0]: missing required field 'reason'"),
    ("dispute", _set(["mediation", 0, "result"], "ok"), "mediation[0].result:"),
    ("dispute", _set(["mediation", 0, "at"], "yesterday"), "mediation[0].at:"),
    ("dispute", _set(["accepted_at"], "2024-05-14"), "accepted_at:"),
    ("supervision_notice", _set(["target_area"], "610402002"), "target_area: must equal area"),
    ("supervision_notice", _set(["deadline"], "2024-05-25T18:00:00+08:00"), "deadline:"),
    ("supervision_notice", _set(["status"], "done"), "status:"),
    ("supervision_notice", _del("issued_by"), "missing required field 'issued_by'"),
    ("reminder", _set(["kind"], "nag"), "kind:"),
    ("reminder", _set(["target_area"], "610402001001"), "target_area: must equal area"),
    ("reminder", _del("round_id"), "missing required field 'round_id'"),
    ("reminder", _set(["matter_id"], "dispute-1"), "missing required field 'step'"),  # about a matter: which step
    ("reminder", _set(["step"], "accept"), "missing required field 'matter_id'"),
    ("report_review", _set(["status"], "rejected"), "status:"),
    ("report_review", _del("comment"), "missing required field 'comment'"),  # has_issues needs a comment
    ("report_review", _set(["comment"], ""), "comment:"),
    ("report_review", _del("report_id"), "missing required field 'report_id'"),
]


@pytest.mark.parametrize(
    "doc_type,mutate,expected",
    BAD,
    ids=[f"{t}-{e}" for t, _, e in BAD],
)
def test_bad_documents_refused(doc_type, mutate, expected):
    doc = example(doc_type)
    mutate(doc)
    errors = validate_document(doc)
    assert errors, "expected the document to be refused"
    assert any(expected in e for e in errors), errors
    assert all(isinstance(e, str) and e for e in errors)


@pytest.mark.parametrize("doc_type", TYPES)
@pytest.mark.parametrize("field", ["type", "area", "created_by", "created_at"])
def test_every_type_requires_base_fields(doc_type, field):
    doc = example(doc_type)
    del doc[field]
    errors = validate_document(doc)
    assert errors
    if field == "type":
        assert errors == ["unknown document type: the document has no 'type' field"]
    else:
        assert f"missing required field {field!r}" in errors


@pytest.mark.parametrize("doc_type", TYPES)
@pytest.mark.parametrize("bad", ["61040", "6104020010011", "abcdef", ""])
def test_every_type_refuses_bad_area(doc_type, bad):
    doc = example(doc_type)
    doc["area"] = bad
    if "target_area" in doc:
        doc["target_area"] = bad
    assert any(e.startswith("area:") for e in validate_document(doc))


@pytest.mark.parametrize("doc_type", TYPES)
def test_every_type_refuses_timestamp_without_offset(doc_type):
    doc = example(doc_type)
    doc["created_at"] = "2024-05-11T09:30:00"
    errors = validate_document(doc)
    assert len(errors) == 1  # pattern and format failures are reported once
    assert errors[0].startswith("created_at: '2024-05-11T09:30:00' is not an ISO 8601 date-time")


@pytest.mark.parametrize(
    "doc,expected",
    [
        ({"type": "x", "area": "610402"}, ["unknown document type 'x'"]),
        ({"type": "Dispute"}, ["unknown document type 'Dispute'"]),
        ({"type": None}, ["unknown document type None"]),
        ({"type": ["dispute"]}, ["unknown document type ['dispute']"]),
        ({"area": "610402"}, ["unknown document type: the document has no 'type' field"]),
        ({"_id": "a", "_type": "dispute"}, ["unknown document type: the document has no 'type' field"]),
        ([], ["a document must be a JSON object"]),
        ("dispute", ["a document must be a JSON object"]),
    ],
)
def test_unknown_or_missing_type(doc, expected):
    assert validate_document(doc) == expected


def test_nested_underscore_keys_are_not_ignored():
    doc = example("household_visit")
    doc["fix"]["_secret"] = 1
    assert "fix: unexpected field '_secret'" in validate_document(doc)


def test_errors_are_sorted_and_unique():
    doc = example("household_visit")
    doc["fix"]["lat"] = 91
    doc["area"] = "x"
    doc["created_at"] = "x"
    errors = validate_document(doc)
    assert len(errors) == len(set(errors))
    assert [e.split(":")[0] for e in errors] == ["area", "created_at", "fix.lat"]
