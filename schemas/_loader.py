"""Load the JSON Schema files and build an offline ``referencing.Registry`` for them."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from ._formats import FORMAT_CHECKER

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
        "reminder",
        "report_review",
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
    """A ready validator (registry + date/date-time format checking) for one type."""
    schema = _raw_schemas()[schema_path(doc_type).name]
    return Draft202012Validator(schema, registry=registry(), format_checker=FORMAT_CHECKER)
