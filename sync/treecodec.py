"""Revision trees to and from their stored text, without recursion.

The nested shape (`[hash, opts, children]`) is as deep as the document's history; `json` recurses
per level and fails near 500 revisions. Stored instead, per path, is a flat pre-order list of
`[hash, opts, parent_index]`.
"""
from __future__ import annotations

from .jsonio import dumps_stored, loads_stored


def encode(tree: list) -> str:
    paths = []
    for path in tree:
        flat: list = []
        stack = [(path["ids"], -1)]
        while stack:
            node, parent = stack.pop()
            index = len(flat)
            flat.append([node[0], node[1], parent])
            for child in reversed(node[2]):
                stack.append((child, index))
        paths.append({"pos": path["pos"], "nodes": flat})
    return dumps_stored(paths)


def decode(text: str) -> list:
    tree = []
    for path in loads_stored(text):
        nodes = []
        for rev_hash, opts, parent in path["nodes"]:
            node = [rev_hash, opts, []]
            if parent >= 0:
                nodes[parent][2].append(node)
            nodes.append(node)
        tree.append({"pos": path["pos"], "ids": nodes[0]})
    return tree
