"""The rev-tree shape shared with PouchDB's `rev_tree`, and a copier for it.

    tree = [path, ...]
    path = {"pos": 1, "ids": node}          # pos: generation of the path's root
    node = [rev_hash, opts, [node, ...]]    # opts: {"status": ..., "deleted": True}

Everything here is plain lists and dicts so a tree round-trips through JSON unchanged.
"""
from __future__ import annotations

from typing import Any, TypeAlias

Opts: TypeAlias = dict[str, Any]
Node: TypeAlias = list[Any]  # [rev_hash: str, opts: Opts, children: list[Node]]
Path: TypeAlias = dict[str, Any]  # {"pos": int, "ids": Node}
Tree: TypeAlias = list[Path]


def clone_node(node: Node) -> Node:
    """Deep copy of a node; iterative because chains can be revs_limit (1000) deep.

    Every node and opts dict of the copy is fresh, even where the source shared them.
    """
    copy: Node = [node[0], dict(node[1]), []]
    stack = [(node, copy)]
    while stack:
        src, dst = stack.pop()
        out = dst[2]
        for child in src[2]:
            child_copy = [child[0], dict(child[1]), []]
            out.append(child_copy)
            stack.append((child, child_copy))
    return copy


def clone_path(path: Path) -> Path:
    return {"pos": path["pos"], "ids": clone_node(path["ids"])}


def clone_tree(tree: Tree) -> Tree:
    return [clone_path(path) for path in tree]
