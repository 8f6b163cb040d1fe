"""PouchDB's mergeTree/doMerge (internals of merge.js), ported line for line.

These mutate their arguments and may leave one node reachable from two places, exactly as the
JS does; merge() and stem() run them on private copies and copy the result afterwards. The
visiting order is kept because it decides the `conflicts` label and where nodes get grafted.
"""
from __future__ import annotations

from typing import Any, Literal

from .js_compare import js_less
from .tree import Node, Path, Tree

Conflicts = Literal["new_leaf", "new_branch", "internal_node"]


def _insert_sorted(children: list[Node], node: Node) -> None:
    # Binary search with PouchDB's comparator (a[0] < b[0] ? -1 : 1): lands before equal ids.
    low, high = 0, len(children)
    while low < high:
        mid = (low + high) >> 1
        if js_less(children[mid][0], node[0]):
            low = mid + 1
        else:
            high = mid
    children.insert(low, node)


def merge_tree(tree1: Node, tree2: Node) -> tuple[Node, Conflicts | Literal[False]]:
    """Fold tree2 into tree1 (same root rev). Only `status` is merged; tree1's other opts,
    `deleted` included, win. The label is whatever the last graft set (LIFO order)."""
    queue = [(tree1, tree2)]
    conflicts: Conflicts | Literal[False] = False
    while queue:
        t1, t2 = queue.pop()
        s1, s2 = t1[1].get("status"), t2[1].get("status")
        if s1 or s2:
            t1[1]["status"] = "available" if "available" in (s1, s2) else "missing"
        for child2 in t2[2]:
            if not t1[2]:
                conflicts = "new_leaf"
                t1[2].append(child2)
                continue
            merged = False
            for child1 in t1[2]:
                if child1[0] == child2[0]:
                    queue.append((child1, child2))
                    merged = True
            if not merged:
                conflicts = "new_branch"
                _insert_sorted(t1[2], child2)
    return tree1, conflicts


def do_merge(tree: Tree, path: Path, dont_expand: bool = False) -> tuple[Tree, Conflicts]:
    if not tree:
        return [path], "new_leaf"

    restree: Tree = []
    conflicts: Conflicts | Literal[False] = False
    merged = False
    for branch in tree:
        if branch["pos"] == path["pos"] and branch["ids"][0] == path["ids"][0]:
            # Same root at the same generation: merge directly.
            ids, res_conflicts = merge_tree(branch["ids"], path["ids"])
            restree.append({"pos": branch["pos"], "ids": ids})
            conflicts = conflicts or res_conflicts
            merged = True
        elif not dont_expand:
            # Walk down the earlier-rooted one to the later one's root generation; if that
            # root is found there, graft the later one in and keep the earlier one.
            t1, t2 = (branch, path) if branch["pos"] < path["pos"] else (path, branch)
            diff = t2["pos"] - t1["pos"]
            candidate: tuple[Node, Node, int] | None = None
            stack: list[tuple[Node, int, Any, Any]] = [(t1["ids"], diff, None, None)]
            while stack:
                ids, item_diff, parent, parent_idx = stack.pop()
                if item_diff == 0:
                    if ids[0] == t2["ids"][0] and candidate is None:
                        candidate = (ids, parent, parent_idx)  # PouchDB takes the first
                    continue
                for j, element in enumerate(ids[2]):
                    stack.append((element, item_diff - 1, ids, j))

            if candidate is None:
                restree.append(branch)
            else:
                el_ids, el_parent, el_idx = candidate
                ids, res_conflicts = merge_tree(el_ids, t2["ids"])
                el_parent[2][el_idx] = ids
                restree.append({"pos": t1["pos"], "ids": t1["ids"]})
                conflicts = conflicts or res_conflicts
                merged = True
        else:
            restree.append(branch)

    if not merged:
        restree.append(path)

    restree.sort(key=lambda p: p["pos"])  # stable, like V8's sort
    return restree, conflicts or "internal_node"
