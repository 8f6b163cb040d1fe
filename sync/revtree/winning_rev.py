"""Port of PouchDB's winningRev.js: CouchDB's deterministic winner."""
from __future__ import annotations

from .js_compare import js_less
from .tree import Tree


def winning_rev(tree: Tree) -> str:
    """A non-deleted leaf beats a deleted one, then the higher pos, then the greater hash.

    Raises ValueError for an empty tree (PouchDB would return "undefined-undefined").
    """
    win_id = win_pos = win_deleted = None
    to_visit = [(p["pos"], p["ids"]) for p in tree]
    while to_visit:
        pos, node = to_visit.pop()
        branches = node[2]
        if branches:
            for child in branches:
                to_visit.append((pos + 1, child))
            continue
        deleted = bool(node[1].get("deleted"))
        rev_id = node[0]
        if (
            not win_id  # falsy like JS `!winningId`
            or (
                win_deleted
                if win_deleted != deleted
                else (win_pos < pos if win_pos != pos else js_less(win_id, rev_id))
            )
        ):
            win_id, win_pos, win_deleted = rev_id, pos, deleted
    if win_pos is None:
        raise ValueError("empty revision tree has no winner")
    return f"{win_pos}-{win_id}"
