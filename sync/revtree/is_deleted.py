"""Port of PouchDB's isDeleted.js."""
from __future__ import annotations

from .errors import RevNotFoundError
from .parse_rev import parse_rev
from .tree import Tree
from .winning_rev import winning_rev


def is_deleted(tree: Tree, rev: str | None = None) -> bool:
    """Whether `rev` (default: the winner) carries `deleted`.

    PouchDB matches on the hash alone and returns undefined for an unknown rev; this matches
    pos and hash and raises RevNotFoundError instead.
    """
    if not rev:
        rev = winning_rev(tree)
    target_pos, target_hash = parse_rev(rev)
    to_visit = [(p["pos"], p["ids"]) for p in tree]
    while to_visit:
        pos, node = to_visit.pop()
        if pos == target_pos and node[0] == target_hash:
            return bool(node[1].get("deleted"))
        if pos < target_pos:
            for child in node[2]:
                to_visit.append((pos + 1, child))
    raise RevNotFoundError(f"rev {rev} is not in the tree")
