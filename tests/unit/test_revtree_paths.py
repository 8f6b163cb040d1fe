"""root_to_leaf, traverse_rev_tree, rev_exists, latest, find_path_to_leaf,
remove_leaf_from_tree (PouchDB's test.purge.js), compact_tree, is_local_id."""
from __future__ import annotations

import copy

import pytest

from sync.revtree import (
    NotALeafError,
    RevNotFoundError,
    compact_tree,
    find_path_to_leaf,
    is_local_id,
    latest,
    remove_leaf_from_tree,
    rev_exists,
    root_to_leaf,
    traverse_rev_tree,
)


def P(pos, ids):  # noqa: N802
    return {"pos": pos, "ids": ids}


FORKED = [P(1, ["a", {}, [["b", {"status": "missing"}, [["c", {}, []]]], ["b2", {"deleted": True}, []]]]), P(3, ["x", {}, []])]


def test_root_to_leaf():
    assert root_to_leaf(FORKED) == [
        {"pos": 1, "ids": [["a", {}], ["b", {"status": "missing"}], ["c", {}]]},
        {"pos": 1, "ids": [["a", {}], ["b2", {"deleted": True}]]},
        {"pos": 3, "ids": [["x", {}]]},
    ]


def test_root_to_leaf_of_stemmed_path_starts_at_its_root_pos():
    assert root_to_leaf([P(7, ["g", {}, [["h", {}, []]]])]) == [{"pos": 7, "ids": [["g", {}], ["h", {}]]}]


def test_root_to_leaf_returns_copies_of_opts():
    tree = copy.deepcopy(FORKED)
    root_to_leaf(tree)[0]["ids"][0][1]["status"] = "available"
    assert tree == FORKED


def test_traverse_order_and_context():
    seen = []

    def visit(is_leaf, pos, rev_hash, ctx, opts):
        seen.append((is_leaf, pos, rev_hash, ctx, opts))
        return f"{pos}-{rev_hash}"

    traverse_rev_tree(FORKED, visit)
    # Stack order: last root first, then each node's last child first.
    assert seen == [
        (True, 3, "x", None, {}),
        (False, 1, "a", None, {}),
        (True, 2, "b2", "1-a", {"deleted": True}),
        (False, 2, "b", "1-a", {"status": "missing"}),
        (True, 3, "c", "2-b", {}),
    ]


@pytest.mark.parametrize(
    "rev,expected",
    [
        ("1-a", True),
        ("2-b", True),  # body-less ("missing") nodes exist too
        ("3-c", True),
        ("2-b2", True),
        ("3-x", True),
        ("2-c", False),  # right hash, wrong pos
        ("1-x", False),
        ("4-zz", False),
    ],
)
def test_rev_exists(rev, expected):
    assert rev_exists(FORKED, rev) is expected


def test_rev_exists_with_dash_in_hash():
    # PouchDB's revExists splits on every dash and would miss this one.
    assert rev_exists([P(1, ["a-b", {}, []])], "1-a-b") is True


def test_rev_exists_rejects_malformed_rev():
    with pytest.raises(ValueError):
        rev_exists(FORKED, "a")


LATEST_TREE = [P(1, ["r", {}, [["a", {}, [["a2", {}, []]]], ["b", {}, []]]])]


@pytest.mark.parametrize(
    "rev,expected",
    [
        ("2-b", "2-b"),  # a leaf is its own latest
        ("3-a2", "3-a2"),
        ("2-a", "3-a2"),
        # Internal node with two leaves below: the first leaf PouchDB's stack reaches, i.e. the
        # last child's branch (2-b), even though 3-a2 is the winner. Checked in pouchdb-node.
        ("1-r", "2-b"),
    ],
)
def test_latest(rev, expected):
    assert latest(rev, LATEST_TREE) == expected


def test_latest_unknown_rev():
    with pytest.raises(RevNotFoundError):
        latest("2-zz", LATEST_TREE)


# --- test.purge.js ---------------------------------------------------------------------------
A1, A2 = "9692d401ed2d3434827608278bdc36e3", "37aa033df08c21b4f56f1da2081e9e00"
A3, A4 = "df226cb9a2e5bdd3e6be009fd51f47c1", "6e94d345514a08620c3176eea080d3ec"
A5, A6 = "df4a81cd21c75c71974d96e88a68fc2f", "3f7f6c55c27bf54c009b661607a9fe05"
C5, C6 = "0b84bfea5508e2020feb07384714a987", "2d0ab4f4089a57c95d52bfd2d66b823d"
B3, B4 = "43f6d5557d6de39488c64bb2c684ae7c", "a3b44168027079c2692a7d8eb35e9643"


def short_conflicted(without=()):
    """shortConflictedTree and its *Without* variants from test.purge.js."""
    def leafy(h, kids):
        return [h, {}, [k for k in kids if k[0] not in without]]

    return [P(1, leafy(A1, [leafy(A2, [
        leafy(B3, [leafy(B4, [])]),
        leafy(A3, [leafy(A4, [leafy(C5, [leafy(C6, [])]), leafy(A5, [leafy(A6, [])])])]),
    ])]))]


SHORT_CONFLICTED_TREE = short_conflicted()
TWO_ROOTS = [
    P(1, [A1, {}, [[A2, {}, [[B3, {}, [[B4, {}, []]]]]]]]),
    P(3, [A3, {}, [[A4, {}, [[C5, {}, [[C6, {}, []]]], [A5, {}, [[A6, {}, []]]]]]]]),
]
REVS_LIMITED_SINGLE_BRANCH = [P(3, [A3, {}, [[A4, {}, [[A5, {}, [[A6, {}, []]]]]]]])]


@pytest.mark.parametrize(
    "tree,rev,expected",
    [
        (SHORT_CONFLICTED_TREE, f"6-{A6}", [f"6-{A6}", f"5-{A5}"]),
        (SHORT_CONFLICTED_TREE, f"6-{C6}", [f"6-{C6}", f"5-{C5}"]),
        (SHORT_CONFLICTED_TREE, f"4-{B4}", [f"4-{B4}", f"3-{B3}"]),
        (TWO_ROOTS, f"6-{A6}", [f"6-{A6}", f"5-{A5}"]),
        (TWO_ROOTS, f"6-{C6}", [f"6-{C6}", f"5-{C5}"]),
        (TWO_ROOTS, f"4-{B4}", [f"4-{B4}", f"3-{B3}", f"2-{A2}", f"1-{A1}"]),
        (REVS_LIMITED_SINGLE_BRANCH, f"6-{A6}", [f"6-{A6}", f"5-{A5}", f"4-{A4}", f"3-{A3}"]),
    ],
    ids=["first branch", "second branch", "third branch", "multi-root first", "multi-root second",
         "multi-root third is the entire subtree", "single branch truncated by revs_limit"],
)
def test_find_path_to_leaf(tree, rev, expected):
    assert find_path_to_leaf(tree, rev) == expected


def test_find_path_to_leaf_missing_rev():
    with pytest.raises(RevNotFoundError, match="The requested revision does not exist"):
        find_path_to_leaf(SHORT_CONFLICTED_TREE, "7-009b661607a9fe053f7f6c55c27bf54c")


def test_find_path_to_leaf_not_a_leaf():
    with pytest.raises(NotALeafError, match="The requested revision is not a leaf"):
        find_path_to_leaf(SHORT_CONFLICTED_TREE, f"3-{A3}")


def test_remove_leaf_step_by_step():
    tree = remove_leaf_from_tree(SHORT_CONFLICTED_TREE, f"6-{A6}")
    assert tree == short_conflicted({A6})
    tree = remove_leaf_from_tree(tree, f"5-{A5}")
    assert tree == short_conflicted({A6, A5})
    tree = remove_leaf_from_tree(tree, f"6-{C6}")
    assert tree == short_conflicted({A6, A5, C6})
    tree = remove_leaf_from_tree(tree, f"5-{C5}")
    assert tree == short_conflicted({A6, A5, C6, C5})


def test_remove_only_node_empties_tree():
    assert remove_leaf_from_tree([P(1, [A3, {"status": "available"}, []])], f"1-{A3}") == []


@pytest.mark.parametrize("rev", [f"5-{A5}", "foobar"], ids=["not a leaf", "does not exist"])
def test_remove_leaf_leaves_tree_alone(rev):
    assert remove_leaf_from_tree(SHORT_CONFLICTED_TREE, rev) == SHORT_CONFLICTED_TREE


def test_remove_first_of_several_siblings():
    tree = [P(1, ["abcd", {}, [["efgh", {}, [["ijkl", {}, [["mnop", {}, []]]], ["qrst", {}, []]]]]])]
    assert remove_leaf_from_tree(tree, "4-mnop") == [
        P(1, ["abcd", {}, [["efgh", {}, [["ijkl", {}, []], ["qrst", {}, []]]]]])
    ]


def test_remove_leaves_from_multi_root_tree_revs_limit_4():
    tree = remove_leaf_from_tree(remove_leaf_from_tree(TWO_ROOTS, f"6-{A6}"), f"6-{C6}")
    assert tree == [
        P(1, [A1, {}, [[A2, {}, [[B3, {}, [[B4, {}, []]]]]]]]),
        P(3, [A3, {}, [[A4, {}, [[C5, {}, []], [A5, {}, []]]]]]),
    ]


def test_remove_leaves_from_multi_root_tree_revs_limit_3():
    limited = [
        P(4, ["6e94", {}, [["df4a", {}, [["3f7f", {}, []]]], ["8d8c", {}, [["65e0", {}, []]]]]]),
        P(4, ["a3b4", {}, []]),
    ]
    tree = remove_leaf_from_tree(remove_leaf_from_tree(limited, "6-3f7f"), "5-df4a")
    assert tree == [P(4, ["6e94", {}, [["8d8c", {}, [["65e0", {}, []]]]]]), P(4, ["a3b4", {}, []])]


def test_remove_leaf_does_not_modify_input():
    tree = copy.deepcopy(SHORT_CONFLICTED_TREE)
    remove_leaf_from_tree(tree, f"6-{A6}")
    assert tree == SHORT_CONFLICTED_TREE


def test_compact_tree():
    tree = [P(1, ["a", {"status": "available"}, [
        ["b", {"status": "available"}, [["c", {"status": "available"}, []]]],
        ["b2", {"status": "missing"}, [["c2", {"status": "available", "deleted": True}, []]]],
    ]])]
    before = copy.deepcopy(tree)
    compacted, revs = compact_tree(tree)
    assert compacted == [P(1, ["a", {"status": "missing"}, [
        ["b", {"status": "missing"}, [["c", {"status": "available"}, []]]],
        ["b2", {"status": "missing"}, [["c2", {"status": "available", "deleted": True}, []]]],
    ]])]
    assert revs == ["1-a", "2-b"]
    assert tree == before


@pytest.mark.parametrize(
    "doc_id,expected",
    [("_local/x", True), ("_local/", True), ("_design/x", False), ("local/x", False), (None, False), (5, False)],
)
def test_is_local_id(doc_id, expected):
    assert is_local_id(doc_id) is expected
