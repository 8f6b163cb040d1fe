"""The ancestry of one rev: what `?revs=true` (`_revisions`) and `?revs_info=true` report."""
from __future__ import annotations

from typing import Any

from .errors import RevNotFoundError
from .parse_rev import parse_rev
from .tree import Opts, Tree


def rev_ancestry(tree: Tree, rev: str) -> tuple[int, list[tuple[str, Opts]]]:
    """(pos of `rev`, [(hash, live opts) from `rev` back to its oldest known ancestor]).

    A rev can sit in two paths after stemming (e.g. under a stemmed root and an unstemmed
    one); the longest ancestry wins, as PouchDB prefers the path that starts at pos 1.
    Raises RevNotFoundError (and ValueError for a malformed rev).
    """
    target_pos, target_hash = parse_rev(rev)
    best: tuple[int, Any] | None = None  # (root pos, history link)
    for path in tree:
        root_pos = path["pos"]
        if root_pos > target_pos or (best is not None and best[0] <= root_pos):
            continue
        to_visit: list[tuple[int, list, Any]] = [(root_pos, path["ids"], None)]
        while to_visit:
            pos, node, parent = to_visit.pop()
            entry = (node[0], node[1], parent)
            if pos == target_pos:
                if node[0] == target_hash:
                    best = (root_pos, entry)
                    break
                continue
            for child in node[2]:
                to_visit.append((pos + 1, child, entry))
    if best is None:
        raise RevNotFoundError(f"rev {rev} is not in the tree")
    ancestry: list[tuple[str, Opts]] = []
    link = best[1]
    while link is not None:
        ancestry.append((link[0], link[1]))
        link = link[2]
    return target_pos, ancestry


def path_revisions(tree: Tree, rev: str) -> dict[str, Any]:
    """`_revisions` for `rev`: {"start": pos, "ids": [hash, parent hash, ..., oldest]}."""
    pos, ancestry = rev_ancestry(tree, rev)
    return {"start": pos, "ids": [rev_hash for rev_hash, _opts in ancestry]}
