"""The compiled fast check (fastjsonschema) and the full validator (jsonschema) give the same verdict.

`validate_document` accepts a document on the fast check alone, so a document the fast check lets
through that the full validator would refuse would be a hole in validation. Every example document
is mutated at every place it has (deleted, replaced by wrong types, bad dates, values taken from
other places and other examples, unknown fields) and in random pairs of such edits; both checks
must agree on each.
"""
from __future__ import annotations

import copy
import json
import random

import pytest

import schemas
from schemas import DOC_TYPES, EXAMPLES_DIR, validate_document, validator_for
from schemas._loader import accepts_for

EXAMPLES = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(EXAMPLES_DIR.glob("*.json"))}

ODD_VALUES = [
    None, True, False, 0, -1, 1, 1.0, 1.5, -0.5, 10**20, 1e300, "", " ", "x", "x" * 5000, "甲",
    "2026-11-01", "2026-13-01", "2026-02-30", "2026-11-01T09:00:00+08:00", "2026-11-01T09:00:00",
    "2026-11-01 09:00:00+08:00", "2026-02-30T09:00:00Z", "610402", "610402001", "610402001001",
    "6104020010011", "61040a", [], [None], [1, 1], ["a", "a"], {}, {"x": 1}, {"_x": 1},
]


def _places(value, path=()):
    """Every path into a JSON value (dict keys and list indexes), the root excluded."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield path + (key,)
            yield from _places(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield path + (index,)
            yield from _places(child, path + (index,))


def _containers(value, path=()):
    if isinstance(value, dict):
        yield path
        for key, child in value.items():
            yield from _containers(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _containers(child, path + (index,))


def _at(doc, path):
    for part in path:
        doc = doc[part]
    return doc


def _set(doc, path, value):
    out = copy.deepcopy(doc)
    _at(out, path[:-1])[path[-1]] = copy.deepcopy(value)
    return out


def _delete(doc, path):
    out = copy.deepcopy(doc)
    del _at(out, path[:-1])[path[-1]]
    return out


def _harvested_values():
    """Every value found anywhere in the examples: real enum members, areas, timestamps, objects."""
    seen = {}
    for example in EXAMPLES.values():
        for path in _places(example):
            value = _at(example, path)
            seen.setdefault(json.dumps(value, sort_keys=True, ensure_ascii=False), value)
    return list(seen.values())


HARVESTED = _harvested_values()


def _single_edits(doc):
    for path in list(_places(doc)):
        yield _delete(doc, path)
        for value in ODD_VALUES + HARVESTED:
            yield _set(doc, path, value)
    for path in list(_containers(doc)):
        yield _set(doc, path + ("unexpected_field",), 1)
        yield _set(doc, path + ("_private",), 1)


def _agree(doc_type, body):
    fast = accepts_for(doc_type)(body)
    full = next(iter(validator_for(doc_type).iter_errors(body)), None) is None
    return fast, full


@pytest.mark.parametrize("doc_type", sorted(DOC_TYPES))
def test_every_type_has_a_compiled_check(doc_type):
    assert accepts_for(doc_type) is not None
    assert accepts_for(doc_type)(schemas.strip_couchdb_fields(EXAMPLES[doc_type])) is True


@pytest.mark.parametrize("doc_type", sorted(DOC_TYPES))
def test_single_edits_get_the_same_verdict(doc_type):
    body = schemas.strip_couchdb_fields(EXAMPLES[doc_type])
    refused = 0
    for edited in _single_edits(body):
        fast, full = _agree(doc_type, edited)
        assert fast == full, f"fast={fast} full={full} for {json.dumps(edited, ensure_ascii=False)[:400]}"
        refused += not full
    assert refused > 50  # the edits really do produce invalid documents


@pytest.mark.parametrize("doc_type", sorted(DOC_TYPES))
def test_random_pairs_of_edits_get_the_same_verdict(doc_type):
    rng = random.Random(f"fast-path-{doc_type}")
    body = schemas.strip_couchdb_fields(EXAMPLES[doc_type])
    singles = list(_single_edits(body))
    for _ in range(400):
        first = rng.choice(singles)
        places = list(_places(first))
        if not places:
            continue
        second = _set(first, rng.choice(places), rng.choice(ODD_VALUES + HARVESTED))
        fast, full = _agree(doc_type, second)
        assert fast == full, f"fast={fast} full={full} for {json.dumps(second, ensure_ascii=False)[:400]}"


def test_a_refused_document_still_gets_every_reason():
    doc = copy.deepcopy(EXAMPLES["dispute"])
    doc["area"] = "61040a"
    del doc["summary"]
    problems = validate_document(doc)
    assert any("area" in p for p in problems) and any("summary" in p for p in problems), problems


@pytest.mark.parametrize("schema", [
    {"type": "object", "unevaluatedProperties": False},        # 2020-12 only
    {"type": "array", "prefixItems": [{"type": "string"}]},     # 2020-12 only
    {"type": "array", "items": [{"type": "string"}]},           # a tuple in draft 7, an error in 2020-12
    {"type": "object", "properties": {"mail": {"type": "string", "format": "email"}}},  # checked differently
    {"type": "object", "properties": {"n": {"$ref": "#/$defs/n"}}},  # a reference left in
])
def test_a_schema_the_drafts_could_read_differently_is_not_compiled(schema):
    from schemas._loader import compile_check

    assert compile_check(schema) is None


def test_a_plain_schema_is_compiled():
    from schemas._loader import compile_check

    check = compile_check({"type": "object", "properties": {"at": {"type": "string", "format": "date-time"}},
                           "required": ["at"]})
    assert check({"at": "2026-11-01T09:00:00+08:00"}) and not check({"at": "2026-11-01T09:00:00"})
