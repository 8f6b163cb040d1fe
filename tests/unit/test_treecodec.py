"""Stored revision trees round-trip, however deep the history (json alone recurses per level)."""
from sync import revtree, treecodec


def _chain(depth: int) -> list:
    """One path of `depth` revisions, built directly (merging them one by one is quadratic)."""
    root = ["h1", {"status": "available"}, []]
    leaf = root
    for pos in range(2, depth + 1):
        child = [f"h{pos}", {"status": "available"}, []]
        leaf[2].append(child)
        leaf = child
    return [{"pos": 1, "ids": root}]


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
