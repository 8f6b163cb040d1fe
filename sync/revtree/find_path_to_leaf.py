"""Port of PouchDB's findPathToLeaf.js (used by purge)."""
from __future__ import annotations

from .errors import NotALeafError, RevNotFoundError
from .tree import Tree


def find_path_to_leaf(tree: Tree, rev: str) -> list[str]:
    """Revs from the leaf `rev` back to just after its nearest branching ancestor, or to the
    root of its path if there is none: the part a purge of that leaf would remove.

    Raises RevNotFoundError if `rev` is absent and NotALeafError if it has children.
    """
    path: list[str] = []
    to_visit = [(p["pos"], p["ids"]) for p in tree]
    while to_visit:
        pos, node = to_visit.pop()
        node_rev = f"{pos}-{node[0]}"
        branches = node[2]
        path.append(node_rev)
        if node_rev == rev:
            if branches:
                raise NotALeafError("The requested revision is not a leaf")
            path.reverse()
            return path
        # The traversal continues in another branch after a leaf or below a fork.
        if len(branches) != 1:
            path = []
        for child in branches:
            to_visit.append((pos + 1, child))
    # DFS always ends on a leaf, which empties `path`, so reaching here means "not found".
    raise RevNotFoundError("The requested revision does not exist")
