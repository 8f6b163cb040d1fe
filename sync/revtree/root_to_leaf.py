"""Port of PouchDB's rootToLeaf.js."""
from __future__ import annotations

from typing import Any

from .tree import Opts, Tree

# A history entry links to its parent's entry, so shared prefixes are not copied per node.
_Hist = tuple[str, Opts, Any]


def root_to_leaf_live(tree: Tree) -> list[tuple[int, list[tuple[str, Opts]]]]:
    """(start_pos, [(hash, live opts), ...]) per leaf, root first, in PouchDB's order."""
    paths: list[tuple[int, list[tuple[str, Opts]]]] = []
    to_visit: list[tuple[int, list, _Hist | None, int]] = [
        (p["pos"], p["ids"], None, 0) for p in tree
    ]
    while to_visit:
        pos, node, parent, depth = to_visit.pop()
        entry: _Hist = (node[0], node[1], parent)
        branches = node[2]
        if not branches:
            ids: list[tuple[str, Opts]] = []
            link: _Hist | None = entry
            while link is not None:
                ids.append((link[0], link[1]))
                link = link[2]
            ids.reverse()
            paths.append((pos - depth, ids))
        for child in branches:
            to_visit.append((pos + 1, child, entry, depth + 1))
    paths.reverse()
    return paths


def root_to_leaf(tree: Tree) -> list[dict[str, Any]]:
    """Every root-to-leaf path as {"pos": start_pos, "ids": [[hash, opts], ...]}.

    Order is PouchDB's: the reverse of its stack traversal, i.e. first path and first child
    first. opts are copies, so callers cannot edit the tree through the result.
    """
    return [
        {"pos": start, "ids": [[rev_hash, dict(opts)] for rev_hash, opts in ids]}
        for start, ids in root_to_leaf_live(tree)
    ]
