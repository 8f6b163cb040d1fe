"""The mobile API's pure pieces, without a database: what the server fills into a plain-JSON record,
the request-only checks, problem bodies in two languages, schema bundling for the OpenAPI document."""
from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from mobile_api.openapi import _rewrite
from mobile_api.payloads import COLLECTIONS, create_schema, request_problems, update_schema
from mobile_api.problems import PROBLEMS, body
from schemas.errors import PaichaError, WriteRefused
from schemas.rules import Refusal
from server.services.collections import fill
from sync import errors

NOW = dt.datetime(2026, 11, 20, 2, 30, tzinfo=dt.timezone.utc)
REPORTS, VISITS = COLLECTIONS["reports"], COLLECTIONS["visits"]


def test_fill_adds_type_caller_and_time_in_shanghai():
    doc = fill(REPORTS, {"id": "r1", "area": "990101001001", "round_id": "x", "nil_report": True},
               user="liu", now=NOW)
    assert doc == {"type": "screening_report", "area": "990101001001", "round_id": "x", "nil_report": True,
                   "created_by": "liu", "created_at": "2026-11-20T10:30:00+08:00",
                   "submitted_at": "2026-11-20T10:30:00+08:00"}


def test_fill_keeps_what_the_client_sent():
    doc = fill(VISITS, {"id": "v", "visitor": "zhao", "visited_at": "2026-11-19T08:00:00+08:00",
                        "created_at": "2026-11-19T08:05:00+08:00"}, user="liu", now=NOW)
    assert doc["visitor"] == "zhao" and doc["visited_at"] == "2026-11-19T08:00:00+08:00"
    assert doc["created_at"] == "2026-11-19T08:05:00+08:00" and "id" not in doc


def test_fill_for_a_retry_takes_left_out_fields_from_the_stored_record():
    stored = {"type": "screening_report", "created_by": "liu", "created_at": "2026-11-01T09:00:00+08:00",
              "submitted_at": "2026-11-01T09:00:00+08:00", "updated_by": "zhao",
              "updated_at": "2026-11-02T09:00:00+08:00", "nil_report": True}
    retry = fill(REPORTS, {"id": "r", "nil_report": True}, user="liu", now=NOW, base=stored)
    assert retry == stored
    edit = fill(REPORTS, {"rev": "1-x", "nil_report": True}, user="wang", now=NOW, base=stored, updating=True)
    assert (edit["created_by"], edit["created_at"]) == ("liu", "2026-11-01T09:00:00+08:00")
    assert (edit["updated_by"], edit["updated_at"]) == ("wang", "2026-11-20T10:30:00+08:00")


@pytest.mark.parametrize("body_, kind, expected", [
    ({"id": "ok-1"}, "create", []),
    ({}, "create", ["missing required field 'id'"]),
    ({"id": "has space"}, "create", ["id: 'has space' is not a valid id"]),
    ({"id": "x", "rev": "1-a"}, "create", ["unexpected field 'rev'"]),
    ({"id": "x", "_attachments": {}}, "create", ["unexpected field '_attachments'"]),
    ({"rev": "2-" + "a" * 32}, "update", []),
    ({"rev": "2-abc"}, "update", ["rev: '2-abc' is not a valid rev"]),
    ({"rev": "2-" + "a" * 32, "type": "dispute"}, "update", ["type: must be 'screening_report'"]),
    ([], "create", ["the body must be a JSON object"]),
])
def test_request_only_members(body_, kind, expected):
    found = request_problems(body_, kind, "screening_report")
    assert len(found) == len(expected) and all(f.startswith(e) for f, e in zip(found, expected)), found


def test_request_schemas_are_the_document_schemas_with_server_fields_optional():
    for collection in COLLECTIONS.values():
        create, update = create_schema(collection.doc_type), update_schema(collection.doc_type)
        assert create["required"][0] == "id" and update["required"][0] == "rev"
        for schema in (create, update):
            assert not {"type", "created_by", "created_at", *collection.defaults} & set(schema["required"])
            assert "patternProperties" not in schema and schema["additionalProperties"] is False


def test_problem_bodies_in_both_languages():
    app = Flask(__name__)
    problem = PaichaError("edit_conflict", id="d-1", current_rev="3-abc")
    with app.test_request_context("/api/v1/disputes/d-1"):
        zh = body(problem)
    with app.test_request_context("/api/v1/disputes/d-1", headers={"Accept-Language": "en-GB,en;q=0.8"}):
        en = body(problem)
    assert zh["title"] == "记录已被修改" and "3-abc" in zh["detail"]
    assert en["title"] == "Record changed meanwhile" and en["detail"].startswith("Record d-1 has changed")
    assert zh["current_rev"] == en["current_rev"] == "3-abc" and zh["instance"] == "/api/v1/disputes/d-1"
    with pytest.raises(KeyError):
        PaichaError("no_such_code")
    assert all(code.islower() and " " not in code for code in PROBLEMS)


def test_refusals_keep_the_rules_code():
    problem = WriteRefused(Refusal("created_by_mismatch", "The field created_by must be your own account name (x)."))
    assert problem.code == "write_refused" and problem.params["refusal"] == "created_by_mismatch"
    assert WriteRefused(Refusal("bad_coordinates", "0,0")).code == "invalid_document"
    # The engine's own scope refusal carries the rules' code too, and still says `forbidden` to CouchDB.
    engine = errors.Refused(Refusal("out_of_scope", "Document is outside your scope."))
    assert engine.body() == {"error": "forbidden", "reason": "Document is outside your scope."}
    assert WriteRefused(engine.refusal).params["refusal"] == "out_of_scope"


def test_bundling_rewrites_refs_into_components():
    schema = {"$id": "x", "$defs": {"party": {"type": "object"}},
              "properties": {"a": {"$ref": "common.schema.json#/$defs/areaCode"},
                             "p": {"items": {"$ref": "#/$defs/party"}}}}
    assert _rewrite(schema, "dispute") == {"properties": {
        "a": {"$ref": "#/components/schemas/common.areaCode"},
        "p": {"items": {"$ref": "#/components/schemas/dispute.party"}}}}
    with pytest.raises(ValueError):
        _rewrite({"$ref": "https://elsewhere.example/s.json"}, "dispute")
