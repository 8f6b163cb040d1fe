"""Port of PouchDB's isLocalId.js."""
from __future__ import annotations


def is_local_id(doc_id: object) -> bool:
    return isinstance(doc_id, str) and doc_id.startswith("_local/")
