"""Paicha document schemas and write rules.

The JSON Schema files beside this module (``<type>.schema.json`` and ``common.schema.json``,
draft 2020-12) are the contract, shared with the mobile app; ``examples/<type>.json`` shows a
valid document of each type. This package only adds validation glue (``validate_document``) and
the write rules (:mod:`schemas.rules`). Pure Python: no Flask, no SQLAlchemy.
"""

from ._loader import (
    BASE_URI,
    COMMON_SCHEMA_ID,
    DOC_TYPES,
    EXAMPLES_DIR,
    SCHEMA_DIR,
    UnknownDocumentType,
    all_schemas,
    load_schema,
    registry,
    validator_for,
)
from .validation import is_valid_document, strip_couchdb_fields, validate_document

__all__ = [
    "BASE_URI",
    "COMMON_SCHEMA_ID",
    "DOC_TYPES",
    "EXAMPLES_DIR",
    "SCHEMA_DIR",
    "UnknownDocumentType",
    "all_schemas",
    "is_valid_document",
    "load_schema",
    "registry",
    "strip_couchdb_fields",
    "validate_document",
    "validator_for",
]
