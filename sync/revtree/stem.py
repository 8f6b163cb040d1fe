"""PouchDB's stem() from merge.js: cut every root-to-leaf path to `depth` revs."""
from __future__ import annotations

from .do_merge import do_merge
from .root_to_leaf import root_to_leaf_live
from .traverse_rev_tree import traverse_rev_tree
from .tree import Node, Opts, Tree, clone_tree


def _path_to_tree(ids: list[tuple[str, Opts]], num_stemmed: int) -> Node:
    root: Node | None = None
    leaf: Node | None = None
    for rev_hash, opts in ids[num_stemmed:]:
        current: Node = [rev_hash, opts, []]  # opts shared, as in the JS
        if leaf is not None:
            leaf[2].append(current)
        else:
            root = current
        leaf = current
    assert root is not None
    return root


def stem_in_place(tree: Tree, depth: int | None) -> tuple[Tree, list[str]]:
    """stem() on a tree the caller owns: its opts dicts may be shared with and updated in
    the result, which is not de-aliased."""
    if depth is not None and depth < 1:
        raise ValueError(f"stem depth must be at least 1, got {depth}")
    stemmed_revs: dict[str, bool] | None = None
    result: Tree | None = None
    for start, ids in root_to_leaf_live(tree):
        if depth is not None and len(ids) > depth:
            if stemmed_revs is None:
                stemmed_revs = {}
            num_stemmed = len(ids) - depth
            node = {"pos": start + num_stemmed, "ids": _path_to_tree(ids, num_stemmed)}
            for s in range(num_stemmed):
                stemmed_revs[f"{start + s}-{ids[s][0]}"] = True
        else:
            node = {"pos": start, "ids": _path_to_tree(ids, 0)}
        # Re-merge without expanding, so stemmed paths are not re-joined past the limit.
        result = [node] if result is None else do_merge(result, node, True)[0]

    if stemmed_revs:
        # A rev cut from one path may survive in another.
        def keep(_is_leaf: bool, pos: int, rev_hash: str, _ctx: object, _opts: Opts) -> None:
            stemmed_revs.pop(f"{pos}-{rev_hash}", None)

        traverse_rev_tree(result or [], keep)
    return (result if result is not None else []), list(stemmed_revs or ())


def stem(tree: Tree, depth: int | None) -> tuple[Tree, list[str]]:
    """Keep at most `depth` revs on every root-to-leaf path. Returns (new tree, revs no
    longer anywhere in it), the revs in PouchDB's order. `depth=None` only normalises.
    The input is not modified."""
    result, revs = stem_in_place(clone_tree(tree), depth)
    return clone_tree(result), revs
