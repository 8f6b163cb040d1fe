"""Port of PouchDB's compactTree.js, without mutating its input."""
from __future__ import annotations

from typing import Any

from .traverse_rev_tree import traverse_rev_tree
from .tree import Tree, clone_tree


def compact_tree(tree: Tree) -> tuple[Tree, list[str]]:
    """Mark every available non-leaf "missing". Returns (new tree, revs whose bodies the
    storage may now drop), revs in PouchDB's traversal order."""
    tree = clone_tree(tree)
    revs: list[str] = []

    def visit(is_leaf: bool, pos: int, rev_hash: str, _ctx: Any, opts: dict) -> None:
        if opts.get("status") == "available" and not is_leaf:
            revs.append(f"{pos}-{rev_hash}")
            opts["status"] = "missing"

    traverse_rev_tree(tree, visit)
    return tree, revs
