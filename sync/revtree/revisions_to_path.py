"""`_revisions` -> path: PouchDB's makeRevTreeFromRevisions (pouchdb-adapter-utils parseDoc)."""
from __future__ import annotations

from typing import Any, Mapping

from .tree import Node, Opts, Path


def revisions_to_path(revisions: Mapping[str, Any], opts_for_leaf: Opts) -> Path:
    """{"start": n, "ids": [newest, ..., oldest]} -> {"pos": n - len(ids) + 1, "ids": node}.

    The leaf (ids[0]) gets a copy of `opts_for_leaf`; every ancestor gets {"status":
    "missing"}. Raises ValueError for a malformed `_revisions` (start not a positive
    integer, ids not a non-empty list of strings, or start < len(ids)). A hash may be empty, as
    CouchDB's couch_doc:parse_revid and PouchDB take it (the bare revision "1-").
    """
    if not isinstance(revisions, Mapping):
        raise ValueError("_revisions must be an object")
    start = revisions.get("start")
    ids = revisions.get("ids")
    if not isinstance(start, int) or isinstance(start, bool):
        raise ValueError("_revisions.start isn't an integer")
    if not isinstance(ids, list) or not ids:
        raise ValueError("_revisions.ids must be a non-empty array")
    if not all(isinstance(rev_hash, str) for rev_hash in ids):
        raise ValueError("_revisions.ids must hold strings")
    pos = start - len(ids) + 1
    if pos < 1:
        raise ValueError("_revisions.start is smaller than the number of ids")

    node: Node = [ids[0], dict(opts_for_leaf), []]
    for rev_hash in ids[1:]:
        node = [rev_hash, {"status": "missing"}, [node]]
    return {"pos": pos, "ids": node}
