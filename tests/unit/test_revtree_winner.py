"""winning_rev, collect_leaves, collect_conflicts, collect_deleted_conflicts, is_deleted."""
from __future__ import annotations


import pytest

from sync.revtree import (
    RevNotFoundError,
    collect_conflicts,
    collect_deleted_conflicts,
    collect_leaves,
    is_deleted,
    winning_rev,
)


def P(pos, ids):  # noqa: N802
    return {"pos": pos, "ids": ids}


DEL = {"status": "available", "deleted": True}
LIVE = {"status": "available"}


@pytest.mark.parametrize(
    "tree,expected",
    [
        # test.merge.js: 'winningRev returns the longest leaf'
        (
            [P(1, ["bfe70372c90ded1087239e5191984f76", {}, [
                ["44d71a718b90e4696c06a90e08912c8f", {}, []],
                ["56e657612d55ab1a402dcb281c874f2a", {}, [["93c3db16462f656f7172ccabd3cf6cd6", {}, []]]],
            ]])],
            "3-93c3db16462f656f7172ccabd3cf6cd6",
        ),
        # test.merge.js: 'winningRev returns the longest leaf again' (issue #293)
        (
            [
                P(1, ["203db1a1810a838895d561f67b224b5d", {}, [
                    ["bf5e08a4f9fa6d33a53f4a00ae3ea399", {}, [["28cd77a3ca30f79e1cfffcd6a41ca308", {}, []]]],
                ]]),
                P(1, ["c6d5cce35bcfbef90b20f140d723cbdb", {}, [
                    ["1b8dfbb1267e213328920bae43f2f597", {}, []],
                    ["59ed830b84b276ab776c3c51aaf93a16", {}, [["64a9842c6aea50bf24660378e496e853", {}, []]]],
                ]]),
            ],
            "3-64a9842c6aea50bf24660378e496e853",
        ),
        ([P(1, ["a", LIVE, []])], "1-a"),
        # Equal pos: the greater hash wins, whichever sits first.
        ([P(1, ["r", {}, [["a", {}, []], ["b", {}, []]]])], "2-b"),
        ([P(1, ["r", {}, [["b", {}, []], ["a", {}, []]]])], "2-b"),
        # pos compares as a number, not as text.
        ([P(9, ["z", {}, []]), P(10, ["a", {}, []])], "10-a"),
        # A live leaf beats a longer deleted branch.
        ([P(1, ["r", {}, [["a", DEL, [["x", DEL, []]]], ["b", LIVE, []]]])], "2-b"),
        # All deleted: the usual order among the deleted leaves.
        ([P(1, ["r", {}, [["a", DEL, [["x", DEL, []]]], ["b", DEL, []]]])], "3-x"),
        ([P(1, ["r", {}, [["a", DEL, []], ["b", DEL, []]]])], "2-b"),
        # Only leaves count: a deleted internal node under a live leaf does not matter.
        ([P(1, ["r", DEL, [["s", LIVE, []]]])], "2-s"),
        # JavaScript's UTF-16 order: U+1D11E (surrogates D834 DD1E) sorts below U+E000.
        ([P(1, ["r", {}, [["\ue000", {}, []], ["\U0001d11e", {}, []]]])], "2-\ue000"),
        # Stemmed roots at several positions.
        ([P(3, ["c", {}, []]), P(1, ["a", {}, [["b", {}, []]]])], "3-c"),
    ],
)
def test_winning_rev(tree, expected):
    assert winning_rev(tree) == expected


def test_winning_rev_of_empty_tree_raises():
    with pytest.raises(ValueError):
        winning_rev([])


def test_collect_leaves_is_highest_pos_first_with_opts_and_pos():
    tree = [P(1, ["r", {}, [["a", {}, []], ["b", DEL, []], ["c", {}, [["d", LIVE, []]]]]])]
    assert collect_leaves(tree) == [
        {"rev": "3-d", "pos": 3, "opts": LIVE},
        {"rev": "2-a", "pos": 2, "opts": {}},
        {"rev": "2-b", "pos": 2, "opts": DEL},
    ]


def test_collect_leaves_ties_follow_reverse_traversal_not_winner_order():
    # Stack traversal visits y before x; the stable sort then reverse puts x first.
    assert [leaf["rev"] for leaf in collect_leaves([P(1, ["x", {}, []]), P(1, ["y", {}, []])])] == ["1-x", "1-y"]


def test_collect_leaves_returns_copies_of_opts():
    tree = [P(1, ["a", {"status": "available"}, []])]
    collect_leaves(tree)[0]["opts"]["deleted"] = True
    assert tree == [P(1, ["a", {"status": "available"}, []])]


def test_collect_leaves_empty():
    assert collect_leaves([]) == []


CONFLICTED = [P(1, ["r", {}, [["a", {}, []], ["b", DEL, []], ["c", {}, []], ["d", {}, []]]])]


@pytest.mark.parametrize(
    "tree,conflicts,deleted_conflicts",
    [
        (CONFLICTED, ["2-a", "2-c"], ["2-b"]),
        ([P(1, ["a", LIVE, []])], [], []),
        ([], [], []),
        # Winner deleted (the document is deleted): no live conflicts remain.
        ([P(1, ["r", {}, [["a", DEL, []], ["b", DEL, []]]])], [], ["2-a"]),
        # The live 2-b wins over the longer deleted branch, which is a deleted conflict.
        ([P(1, ["r", {}, [["a", DEL, [["x", DEL, []]]], ["b", LIVE, []]]])], [], ["3-x"]),
        # Conflicts across roots, highest pos first.
        ([P(1, ["a", {}, [["b", {}, []]]]), P(3, ["c", {}, [["d", {}, []]]]), P(1, ["z", {}, []])], ["2-b", "1-z"], []),
    ],
)
def test_conflicts(tree, conflicts, deleted_conflicts):
    assert collect_conflicts(tree) == conflicts
    assert collect_deleted_conflicts(tree) == deleted_conflicts


def test_is_deleted():
    tree = [P(1, ["r", DEL, [["a", DEL, []], ["b", LIVE, [["c", DEL, []]]]]])]
    assert is_deleted(tree) is True  # winner is 3-c
    assert is_deleted(tree, "2-b") is False
    assert is_deleted(tree, "1-r") is True  # internal nodes keep their flag
    assert is_deleted(tree, "2-a") is True
    assert is_deleted([P(1, ["r", LIVE, []])]) is False


def test_is_deleted_matches_pos_as_well_as_hash():
    tree = [P(1, ["r", {}, [["r", DEL, []]]])]
    assert is_deleted(tree, "2-r") is True
    assert is_deleted(tree, "1-r") is False
    with pytest.raises(RevNotFoundError):
        is_deleted(tree, "3-r")


def test_is_deleted_rejects_malformed_rev():
    with pytest.raises(ValueError):
        is_deleted([P(1, ["r", {}, []])], "r")
