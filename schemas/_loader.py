"""Load the JSON Schema files and build an offline ``referencing.Registry`` for them."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any, Callable

import fastjsonschema
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from ._formats import FORMAT_CHECKER, is_date, is_date_time

SCHEMA_DIR: Path = Path(__file__).resolve().parent
EXAMPLES_DIR: Path = SCHEMA_DIR / "examples"
BASE_URI = "https://paicha.example/schemas/"
COMMON_SCHEMA_ID = BASE_URI + "common.schema.json"

DOC_TYPES: frozenset[str] = frozenset(
    {
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
)


class UnknownDocumentType(ValueError):
    """Raised by :func:`load_schema` for a type that has no schema."""


def schema_path(doc_type: str) -> Path:
    if doc_type not in DOC_TYPES:
        raise UnknownDocumentType(f"unknown document type {doc_type!r}")
    return SCHEMA_DIR / f"{doc_type}.schema.json"


@functools.cache
def _raw_schemas() -> dict[str, dict[str, Any]]:
    """File name -> parsed schema, for every ``*.schema.json`` beside this module."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(SCHEMA_DIR.glob("*.schema.json"))
    }


def all_schemas() -> dict[str, dict[str, Any]]:
    """Every schema file (including ``common.schema.json``), by file name; deep copies."""
    return copy.deepcopy(_raw_schemas())


def load_schema(doc_type: str) -> dict[str, Any]:
    """The schema for one document type, as a fresh dict (safe to mutate)."""
    return copy.deepcopy(_raw_schemas()[schema_path(doc_type).name])


@functools.cache
def registry() -> Registry:
    """A registry holding every schema under its ``$id``, so ``$ref``s resolve offline."""
    return Registry().with_resources(
        (schema["$id"], DRAFT202012.create_resource(schema)) for schema in _raw_schemas().values()
    ).crawl()


@functools.cache
def validator_for(doc_type: str) -> Draft202012Validator:
    """A ready validator (registry + date/date-time format checking) for one type.

    Its schema has every ``$ref`` replaced by what it points to: resolving references was most of
    the cost of validating a document, paid again for every document of a replication batch."""
    # A self-referencing schema keeps its references; the registry resolves them.
    schema = _inlined(doc_type) or _raw_schemas()[schema_path(doc_type).name]
    return Draft202012Validator(schema, registry=registry(), format_checker=FORMAT_CHECKER)


def accepts_for(doc_type: str) -> Callable[[Any], bool] | None:
    """A compiled yes/no check for one type (fastjsonschema: generated Python, ~20x faster than
    walking the schema), or None when the schema cannot be compiled that way.

    A replication batch is almost always valid, so the fast check answers it; only a refused
    document goes through the full validator, which explains every problem. Both read the same
    inlined schema; tests/unit/test_schema_fast_path.py holds them to the same verdicts."""
    return _compiled(doc_type)


@functools.cache
def _compiled(doc_type: str):
    schema = _inlined(doc_type)
    return None if schema is None else compile_check(schema)


# Keywords that mean the same in draft 7 (what fastjsonschema compiles) and 2020-12 (what the
# schemas are written in) once no $ref is left. A schema using anything else is not compiled.
SAME_IN_BOTH_DRAFTS = frozenset({
    "type", "properties", "required", "additionalProperties", "patternProperties", "items", "minItems",
    "maxItems", "uniqueItems", "const", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minProperties", "maxProperties", "allOf",
    "anyOf", "oneOf", "not", "if", "then", "else", "format", "title", "description", "$comment",
    "examples", "default", "$schema", "$id", "$defs",
})
_FORMATS = {"date": is_date, "date-time": is_date_time}


def _same_in_both_drafts(node: Any) -> bool:
    if isinstance(node, list):
        return all(_same_in_both_drafts(item) for item in node)
    if not isinstance(node, dict):
        return True
    if not SAME_IN_BOTH_DRAFTS.issuperset(node):
        return False
    if isinstance(node.get("items"), list) or node.get("format", "date") not in _FORMATS:
        return False  # tuple `items` differ between the drafts; other formats are checked differently
    for key, value in node.items():
        if key in ("properties", "patternProperties", "$defs"):
            if not all(_same_in_both_drafts(sub) for sub in value.values()):
                return False
        elif key not in ("const", "enum", "examples", "default", "required") and not _same_in_both_drafts(value):
            return False
    return True


def compile_check(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """A yes/no check compiled from a $ref-free schema, or None if it uses a keyword the two
    validators could read differently."""
    if not _same_in_both_drafts(schema):
        return None
    schema = {k: v for k, v in schema.items() if k not in ("$schema", "$id", "$defs")}
    check = fastjsonschema.compile({"$schema": "http://json-schema.org/draft-07/schema#", **schema},
                                   formats=_FORMATS, use_default=False)

    def accepts(doc: Any) -> bool:
        try:
            check(doc)
        except fastjsonschema.JsonSchemaValueException:
            return False
        return True

    return accepts


@functools.cache
def _inlined(doc_type: str) -> dict[str, Any] | None:
    """The type's schema with every `$ref` replaced by its target; None if a reference is recursive."""
    schema = _raw_schemas()[schema_path(doc_type).name]
    try:
        return _inline_refs(schema, registry().resolver(base_uri=schema["$id"]), frozenset())
    except _RecursiveRef:
        return None


class _RecursiveRef(Exception):
    pass


def _inline_refs(node: Any, resolver, expanding: frozenset[int]) -> Any:
    if isinstance(node, list):
        return [_inline_refs(item, resolver, expanding) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return {key: _inline_refs(value, resolver, expanding) for key, value in node.items()}
    resolved = resolver.lookup(ref)
    if id(resolved.contents) in expanding:
        raise _RecursiveRef(ref)
    target = _inline_refs(resolved.contents, resolved.resolver, expanding | {id(resolved.contents)})
    rest = {key: _inline_refs(value, resolver, expanding) for key, value in node.items() if key != "$ref"}
    if not rest:
        return target
    # "$ref" beside other keywords applies both (draft 2020-12): the same as an allOf.
    return {**rest, "allOf": [*rest.get("allOf", []), target]}
