"""stem(): CouchDB's key-tree stemming tests, PouchDB's revs_limit trees (test.purge.js)."""
from __future__ import annotations

import copy

import pytest

from sync.revtree import stem


def P(pos, ids):  # noqa: N802
    return {"pos": pos, "ids": ids}


FOO, BAR = {"v": "foo"}, {"v": "bar"}
TWO_CHILD = [P(1, ["1", FOO, [["1a", BAR, [["1aa", BAR, []]]]]])]

# test.purge.js: 1-a 2-a {3-b 4-b | 3-a 4-a {5-c 6-c | 5-a 6-a}}
SHORT_CONFLICTED_TREE = [P(1, ["9692d401ed2d3434827608278bdc36e3", {}, [
    ["37aa033df08c21b4f56f1da2081e9e00", {}, [
        ["43f6d5557d6de39488c64bb2c684ae7c", {}, [["a3b44168027079c2692a7d8eb35e9643", {}, []]]],
        ["df226cb9a2e5bdd3e6be009fd51f47c1", {}, [
            ["6e94d345514a08620c3176eea080d3ec", {}, [
                ["0b84bfea5508e2020feb07384714a987", {}, [["2d0ab4f4089a57c95d52bfd2d66b823d", {}, []]]],
                ["df4a81cd21c75c71974d96e88a68fc2f", {}, [["3f7f6c55c27bf54c009b661607a9fe05", {}, []]]],
            ]],
        ]],
    ]],
]])]
# "With revs_limit: 4, the shortConflictedTree from above becomes:" (test.purge.js)
SHORT_CONFLICTED_TREE_WITH_TWO_ROOTS = [
    P(1, ["9692d401ed2d3434827608278bdc36e3", {}, [
        ["37aa033df08c21b4f56f1da2081e9e00", {}, [
            ["43f6d5557d6de39488c64bb2c684ae7c", {}, [["a3b44168027079c2692a7d8eb35e9643", {}, []]]],
        ]],
    ]]),
    P(3, ["df226cb9a2e5bdd3e6be009fd51f47c1", {}, [
        ["6e94d345514a08620c3176eea080d3ec", {}, [
            ["0b84bfea5508e2020feb07384714a987", {}, [["2d0ab4f4089a57c95d52bfd2d66b823d", {}, []]]],
            ["df4a81cd21c75c71974d96e88a68fc2f", {}, [["3f7f6c55c27bf54c009b661607a9fe05", {}, []]]],
        ]],
    ]]),
]


@pytest.mark.parametrize(
    "depth,expected_tree,expected_revs",
    [
        (3, TWO_CHILD, []),  # should_have_no_effect_for_stemming_more_levels_than_exists
        (10, TWO_CHILD, []),
        (1, [P(3, ["1aa", BAR, []])], ["1-1", "2-1a"]),  # should_return_one_deepest_node
        (2, [P(2, ["1a", BAR, [["1aa", BAR, []]]])], ["1-1"]),  # should_return_two_deepest_nodes
    ],
)
def test_couch_stemming(depth, expected_tree, expected_revs):
    assert stem(TWO_CHILD, depth) == (expected_tree, expected_revs)


def test_revs_limit_4_splits_the_purge_tree_into_two_roots():
    # 1-a and 2-a leave the long paths but survive on the 4-b path, so nothing is reported.
    assert stem(SHORT_CONFLICTED_TREE, 4) == (SHORT_CONFLICTED_TREE_WITH_TWO_ROOTS, [])


def test_revs_limit_3_on_the_purge_tree():
    tree, revs = stem(SHORT_CONFLICTED_TREE, 3)
    assert [(p["pos"], p["ids"][0]) for p in tree] == [
        (2, "37aa033df08c21b4f56f1da2081e9e00"),
        (4, "6e94d345514a08620c3176eea080d3ec"),
    ]
    assert revs == ["1-9692d401ed2d3434827608278bdc36e3", "3-df226cb9a2e5bdd3e6be009fd51f47c1"]


def test_a_rev_can_end_up_under_two_roots():
    # 2-b heads the stemmed long branch and is still inside the short unstemmed one.
    tree = [P(1, ["a", {}, [["b", {}, [["c", {}, [["d", {}, []]]], ["c2", {}, []]]]]])]
    assert stem(tree, 3) == (
        [P(1, ["a", {}, [["b", {}, [["c2", {}, []]]]]]), P(2, ["b", {}, [["c", {}, [["d", {}, []]]]]])],
        [],
    )


def test_stemming_keeps_opts():
    tree = [P(1, ["a", {"status": "missing"}, [["b", {"status": "available", "deleted": True}, []]]])]
    assert stem(tree, 1) == ([P(2, ["b", {"status": "available", "deleted": True}, []])], ["1-a"])


def test_stemmed_revs_are_in_path_order():
    tree = [P(1, ["a", {}, [["b", {}, [["c", {}, []]]], ["b2", {}, [["c2", {}, []]]]]])]
    assert stem(tree, 1) == (
        [P(3, ["c", {}, []]), P(3, ["c2", {}, []])],
        ["1-a", "2-b", "2-b2"],
    )


def test_stem_does_not_modify_its_input():
    tree = copy.deepcopy(SHORT_CONFLICTED_TREE)
    result, _revs = stem(tree, 2)
    assert tree == SHORT_CONFLICTED_TREE
    result[0]["ids"][1]["touched"] = True
    assert tree == SHORT_CONFLICTED_TREE


def test_depth_none_only_normalises():
    assert stem(SHORT_CONFLICTED_TREE, None) == (SHORT_CONFLICTED_TREE, [])


def test_empty_tree():
    assert stem([], 5) == ([], [])


@pytest.mark.parametrize("depth", [0, -1])
def test_depth_must_be_positive(depth):
    with pytest.raises(ValueError):
        stem(TWO_CHILD, depth)
