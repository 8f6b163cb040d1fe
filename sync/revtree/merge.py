"""Port of PouchDB's merge() from merge.js: add one path to a rev tree, then stem."""
from __future__ import annotations

from dataclasses import dataclass

from .do_merge import Conflicts, do_merge
from .stem import stem_in_place
from .tree import Path, Tree, clone_path, clone_tree


@dataclass(frozen=True, slots=True)
class MergeResult:
    tree: Tree
    stemmed_revs: list[str]
    # PouchDB's label: "new_leaf" (extends a leaf, or the tree was empty), "new_branch"
    # (forks an existing node), "internal_node" (nothing new, or an unrelated root added).
    conflicts: Conflicts


def merge(tree: Tree, path: Path, depth: int | None) -> MergeResult:
    """Merge the single-path tree `path` ({"pos": n, "ids": node}) into `tree` and stem to
    `depth` revs per branch (None: no stemming). Neither input is modified; the result
    shares no objects with them or within itself."""
    merged, conflicts = do_merge(clone_tree(tree), clone_path(path))
    stemmed, stemmed_revs = stem_in_place(merged, depth)
    return MergeResult(tree=clone_tree(stemmed), stemmed_revs=stemmed_revs, conflicts=conflicts)
