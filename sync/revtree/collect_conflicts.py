"""Port of PouchDB's collectConflicts.js, plus CouchDB's `_deleted_conflicts`."""
from __future__ import annotations

from .collect_leaves import collect_leaves
from .tree import Tree
from .winning_rev import winning_rev


def collect_conflicts(tree: Tree) -> list[str]:
    """`_conflicts`: non-deleted leaves other than the winner, in collect_leaves order."""
    if not tree:
        return []
    win = winning_rev(tree)
    return [
        leaf["rev"]
        for leaf in collect_leaves(tree)
        if leaf["rev"] != win and not leaf["opts"].get("deleted")
    ]


def collect_deleted_conflicts(tree: Tree) -> list[str]:
    """`_deleted_conflicts`: deleted leaves other than the winner (CouchDB's doc_meta_info:
    the `deleted=true` rev_infos after the winner). PouchDB has no equivalent; the order
    follows collect_conflicts for consistency."""
    if not tree:
        return []
    win = winning_rev(tree)
    return [
        leaf["rev"]
        for leaf in collect_leaves(tree)
        if leaf["rev"] != win and leaf["opts"].get("deleted")
    ]
