"""Request bodies, derived from `schemas/` (never written out by hand).

A plain-JSON client sends a document's own fields plus a client-chosen `id` (create) or the `rev` it
edits (update). The server fills in what it knows (`server.services.collections`: `type` from the
URL, the caller, the time, a few per-type defaults). The body schemas below are the document schemas
with those fields made optional, `id` or `rev` added and CouchDB's `_` members refused; the filled-in
document is then validated with `schemas.validate_document`, the same check replication applies.
"""
from __future__ import annotations

import functools
import re

import schemas

from server.services.collections import DISPUTES, REPORTS, SERVER_FILLED, VISITS, Collection

ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"
REV_PATTERN = "^[1-9][0-9]{0,9}-[0-9a-f]{32}$"
_ID = re.compile(ID_PATTERN)
_REV = re.compile(REV_PATTERN)
_DOC_ID = re.compile(r"^[^_/\x00-\x1f][^/\x00-\x1f]{0,254}$")

COLLECTIONS: dict[str, Collection] = {c.name: c for c in (REPORTS, DISPUTES, VISITS)}


def _derived(doc_type: str, kind: str, filled: tuple[str, ...]) -> dict:
    schema = schemas.load_schema(doc_type)
    # Same folder as the document schemas, so their relative $refs resolve in `schemas.registry()`.
    schema["$id"] = f"{schemas.BASE_URI}api-{doc_type}-{kind}.schema.json"
    schema["title"] = f"{doc_type} ({kind} request)"
    schema.pop("patternProperties", None)  # no _id, _rev, _deleted, _attachments over plain JSON
    required = [r for r in schema["required"] if r not in SERVER_FILLED + filled]
    if kind == "create":
        schema["properties"]["id"] = {
            "description": "the record's id, chosen by the client (e.g. a UUID); retrying with the same "
                           "id and content never creates a second record", "type": "string",
            "pattern": ID_PATTERN}
        schema["required"] = ["id"] + required
    else:
        schema["properties"]["rev"] = {"description": "the revision being replaced (from the last read)",
                                       "type": "string", "pattern": REV_PATTERN}
        schema["required"] = ["rev"] + required
    return schema


@functools.cache
def create_schema(doc_type: str) -> dict:
    collection = next(c for c in COLLECTIONS.values() if c.doc_type == doc_type)
    return _derived(doc_type, "create", collection.defaults)


@functools.cache
def update_schema(doc_type: str) -> dict:
    collection = next(c for c in COLLECTIONS.values() if c.doc_type == doc_type)
    return _derived(doc_type, "update", collection.defaults)


def request_problems(body, kind: str, doc_type: str) -> list[str]:
    """What is wrong with the request-only members (`id` / `rev`, `_` members); the document
    fields are checked after filling in, by `schemas.validate_document`."""
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    problems = [f"unexpected field {k!r}" for k in body if isinstance(k, str) and k.startswith("_")]
    key, pattern = ("id", _ID) if kind == "create" else ("rev", _REV)
    other = "rev" if kind == "create" else "id"
    value = body.get(key)
    if value is None:
        problems.append(f"missing required field {key!r}")
    elif not isinstance(value, str) or not pattern.match(value):
        problems.append(f"{key}: {value!r} is not a valid {key}" + (
            " (letters, digits, . _ : -; at most 200 characters)" if key == "id" else ""))
    if other in body:
        problems.append(f"unexpected field {other!r}")
    if "type" in body and body["type"] != doc_type:
        problems.append(f"type: must be {doc_type!r} here (or left out), got {body['type']!r}")
    return problems


def valid_doc_id(value: str) -> bool:
    """An id a record may have (ids made on phones are not limited to ID_PATTERN)."""
    return bool(_DOC_ID.match(value))


DOC_ID_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^_/][^/]*$"}
