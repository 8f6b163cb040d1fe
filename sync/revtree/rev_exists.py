"""Port of PouchDB's revExists.js."""
from __future__ import annotations

from .parse_rev import parse_rev
from .tree import Tree


def rev_exists(tree: Tree, rev: str) -> bool:
    """True if `rev` is a node anywhere in the tree (leaf, internal or missing-bodied).

    PouchDB splits the rev on every dash, so a hash containing "-" never matches there; this
    splits on the first dash only. Raises ValueError for a malformed rev.
    """
    target_pos, target_hash = parse_rev(rev)
    to_visit = [(p["pos"], p["ids"]) for p in tree]
    while to_visit:
        pos, node = to_visit.pop()
        if pos == target_pos and node[0] == target_hash:
            return True
        if pos < target_pos:  # descendants only get deeper
            for child in node[2]:
                to_visit.append((pos + 1, child))
    return False
