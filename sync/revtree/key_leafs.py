"""CouchDB's couch_key_tree:get_key_leafs, which `open_revs` with `latest=true` answers with."""
from __future__ import annotations

from .root_to_leaf import root_to_leaf_live
from .tree import Tree


def key_leafs(tree: Tree, revs: list[str]) -> tuple[list[str], list[str]]:
    """(leaves, missing): every leaf at or below one of `revs`, each once (two revs of one
    branch give its leaf once, an internal rev with two branches gives both leaves), and the
    revs not in the tree."""
    wanted = set(revs)
    found: set[str] = set()
    leaves: dict[str, None] = {}
    for start, ids in root_to_leaf_live(tree):
        path = [f"{start + depth}-{rev_hash}" for depth, (rev_hash, _opts) in enumerate(ids)]
        hits = wanted.intersection(path)
        if hits:
            found.update(hits)
            leaves.setdefault(path[-1])
    return list(leaves), [rev for rev in dict.fromkeys(revs) if rev not in found]
