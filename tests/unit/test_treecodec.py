"""Stored revision trees round-trip, however deep the history (json alone recurses per level)."""
from sync import revtree, treecodec


def _chain(depth: int) -> list:
    tree: list = []
    for pos in range(1, depth + 1):
        ids = [f"h{pos}", {"status": "available"}, []]
        if pos > 1:
            ids = [f"h{pos - 1}", {"status": "missing"}, [ids]]
        tree = revtree.merge(tree, {"pos": max(pos - 1, 1), "ids": ids}, None).tree
    return tree


def test_a_branchy_tree_round_trips_exactly():
    tree = [
        {"pos": 1, "ids": ["a", {"status": "available"}, [
            ["b", {"status": "available"}, [["c", {"status": "available", "deleted": True}, []]]],
            ["d", {"status": "missing"}, []],
        ]]},
        {"pos": 3, "ids": ["x", {"status": "available"}, []]},
    ]
    assert treecodec.decode(treecodec.encode(tree)) == tree


def test_a_history_of_3000_revisions_round_trips():
    tree = _chain(3000)
    decoded = treecodec.decode(treecodec.encode(tree))
    assert revtree.winning_rev(decoded) == "3000-h3000"
    # (== on the nested lists would itself recurse too deep)
    assert treecodec.encode(decoded) == treecodec.encode(tree)
    [path] = revtree.root_to_leaf(decoded)
    assert [h for h, _ in path["ids"]] == [f"h{n}" for n in range(1, 3001)]
