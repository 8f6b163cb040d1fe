"""`_revs_diff` support: CouchDB's find_missing and possible_ancestors (couch_db.erl)."""
from __future__ import annotations

from typing import Iterable

from .parse_rev import parse_rev
from .rev_exists import rev_exists
from .root_to_leaf import root_to_leaf_live
from .tree import Tree


def find_missing(tree: Tree, revs: Iterable[str]) -> list[str]:
    """The revs that are not nodes of the tree, in the given order (couch_key_tree:
    find_missing). Raises ValueError for a malformed rev."""
    return [rev for rev in revs if not rev_exists(tree, rev)]


def possible_ancestors(tree: Tree, missing_revs: str | Iterable[str]) -> list[str]:
    """Leaf revs of the tree with a lower pos than at least one of the missing revs.

    These are all the leaves, deleted ones included, not only real ancestors. Order is
    CouchDB's: the reverse of its doc_info order, i.e. deleted leaves then live ones, each
    by ascending (pos, hash). Pass only revs that are actually missing.
    """
    revs = [missing_revs] if isinstance(missing_revs, str) else list(missing_revs)
    if not revs:
        return []
    max_pos = max(parse_rev(rev)[0] for rev in revs)

    leaves: dict[str, tuple[bool, int, str]] = {}
    for start, ids in root_to_leaf_live(tree):
        pos = start + len(ids) - 1
        if pos < max_pos:
            rev_hash, opts = ids[-1]
            leaves[f"{pos}-{rev_hash}"] = (not opts.get("deleted"), pos, rev_hash)
    # CouchDB compares hashes as binaries: UTF-8 byte order, which is Python's str order.
    return sorted(leaves, key=leaves.__getitem__)
