"""Port of PouchDB's removeLeafFromTree.js (the per-path version used by purge)."""
from __future__ import annotations

from .tree import Path, Tree, clone_path


def _remove_leaf_from_path(path: Path, rev: str) -> Path | None:
    path = clone_path(path)
    to_visit: list[tuple[int, list, list | None]] = [(path["pos"], path["ids"], None)]
    while to_visit:
        pos, node, parent = to_visit.pop()
        branches = node[2]
        if not branches and f"{pos}-{node[0]}" == rev:
            if parent is None:
                return None  # the path was this single leaf
            parent[2] = [child for child in parent[2] if child[0] != node[0]]
            return path
        for child in branches:
            to_visit.append((pos + 1, child, node))
    return path


def remove_leaf_from_tree(tree: Tree, rev: str) -> Tree:
    """A copy of `tree` without the leaf `rev`, whatever its status; paths left empty are
    dropped. Its parent becomes a leaf, possibly a body-less ("missing") one. Unknown or
    internal revs leave the tree unchanged."""
    result: Tree = []
    for path in tree:
        kept = _remove_leaf_from_path(path, rev)
        if kept is not None:
            result.append(kept)
    return result
