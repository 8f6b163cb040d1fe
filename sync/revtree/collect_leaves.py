"""Port of PouchDB's collectLeaves.js."""
from __future__ import annotations

from typing import Any

from .traverse_rev_tree import traverse_rev_tree
from .tree import Tree


def collect_leaves(tree: Tree) -> list[dict[str, Any]]:
    """Every leaf as {"rev", "pos", "opts"}, highest pos first.

    PouchDB's order exactly: leaves in traversal order, stable-sorted by pos, then reversed, so
    equal-pos leaves come out in reverse traversal order (for siblings: ascending hash). It is
    not the winner order. PouchDB drops "pos"; it is kept here. opts are copies.
    """
    leaves: list[dict[str, Any]] = []

    def visit(is_leaf: bool, pos: int, rev_hash: str, _ctx: Any, opts: dict) -> None:
        if is_leaf:
            leaves.append({"rev": f"{pos}-{rev_hash}", "pos": pos, "opts": dict(opts)})

    traverse_rev_tree(tree, visit)
    leaves.sort(key=lambda leaf: leaf["pos"])
    leaves.reverse()
    return leaves
