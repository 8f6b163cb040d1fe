"""Port of PouchDB's latest.js."""
from __future__ import annotations

from typing import Any

from .errors import RevNotFoundError
from .tree import Tree


def latest(rev: str, tree: Tree) -> str:
    """The leaf rev whose history contains `rev` (`rev` itself if it is a leaf).

    For an internal rev with several descendant leaves this is the first leaf reached by
    PouchDB's stack traversal (last path, last child first, i.e. the greatest hash among
    siblings), not the winner. Raises RevNotFoundError if `rev` is not in the tree.
    """
    to_visit: list[tuple[int, list, Any]] = [(p["pos"], p["ids"], None) for p in tree]
    while to_visit:
        pos, node, parent = to_visit.pop()
        entry = (f"{pos}-{node[0]}", parent)
        branches = node[2]
        if not branches:
            link = entry
            while link is not None:
                if link[0] == rev:
                    return entry[0]
                link = link[1]
        for child in branches:
            to_visit.append((pos + 1, child, entry))
    raise RevNotFoundError(f"Unable to resolve latest revision for rev {rev}")
