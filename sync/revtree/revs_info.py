"""`_revs_info` for one rev, with CouchDB's statuses."""
from __future__ import annotations

from .path_revisions import rev_ancestry
from .tree import Opts, Tree


def _status(opts: Opts) -> str:
    # CouchDB: a body-less rev is "missing" (even if deleted), a deleted one "deleted".
    # PouchDB reports opts.status verbatim and so never says "deleted".
    if opts.get("status") == "missing":
        return "missing"
    if opts.get("deleted"):
        return "deleted"
    return "available"


def revs_info(tree: Tree, rev: str) -> list[dict[str, str]]:
    """[{"rev": ..., "status": "available"|"missing"|"deleted"}] from `rev` back to its
    oldest known ancestor. Raises RevNotFoundError (ValueError for a malformed rev)."""
    pos, ancestry = rev_ancestry(tree, rev)
    return [
        {"rev": f"{pos - i}-{rev_hash}", "status": _status(opts)}
        for i, (rev_hash, opts) in enumerate(ancestry)
    ]
