"""Port of PouchDB's traverseRevTree.js."""
from __future__ import annotations

from typing import Any, Callable

from .tree import Opts, Tree

# callback(is_leaf, pos, rev_hash, ctx, opts) -> ctx handed to that node's children
TraverseCallback = Callable[[bool, int, str, Any, Opts], Any]


def traverse_rev_tree(tree: Tree, callback: TraverseCallback) -> None:
    """Depth-first, in PouchDB's order: paths and children are pushed on a stack, so the last
    path and the last child are visited first. `opts` is the live dict (PouchDB's compactTree
    writes through it); the root's ctx is None."""
    to_visit: list[tuple[int, list, Any]] = [(p["pos"], p["ids"], None) for p in tree]
    while to_visit:
        pos, node, ctx = to_visit.pop()
        branches = node[2]
        new_ctx = callback(not branches, pos, node[0], ctx, node[1])
        for child in branches:
            to_visit.append((pos + 1, child, new_ctx))
