"""Helpers for the HTTP layer: parse_rev, revisions_to_path, path_revisions, revs_info,
find_missing and possible_ancestors (CouchDB's _revs_diff)."""
from __future__ import annotations

import json

import pytest

from sync.revtree import (
    RevNotFoundError,
    find_missing,
    format_rev,
    merge,
    parse_rev,
    path_revisions,
    possible_ancestors,
    revisions_to_path,
    revs_info,
)


def P(pos, ids):  # noqa: N802
    return {"pos": pos, "ids": ids}


@pytest.mark.parametrize(
    "rev,expected",
    [
        ("1-abc", (1, "abc")),
        ("3-967a00dff5e02add41819138abb3284d", (3, "967a00dff5e02add41819138abb3284d")),
        ("12-a-b", (12, "a-b")),  # split at the first dash only
        ("007-x", (7, "x")),  # leading zeros parse, as in CouchDB and PouchDB
        ("1-\u00e9", (1, "\u00e9")),
        ("1-", (1, "")),  # a bare revision: CouchDB's couch_doc:parse_rev takes it, as PouchDB does
    ],
)
def test_parse_rev(rev, expected):
    assert parse_rev(rev) == expected


@pytest.mark.parametrize(
    "rev",
    ["", "abc", "1", "-abc", "0-abc", "-1-abc", "+1-abc", " 1-abc", "1a-b", "1.5-abc", "\u0661-abc",
     None, 1, ["1-a"]],
)
def test_parse_rev_rejects(rev):
    with pytest.raises(ValueError):
        parse_rev(rev)


def test_format_rev_round_trips():
    assert format_rev(*parse_rev("4-abc")) == "4-abc"


# --- revisions_to_path (PouchDB's makeRevTreeFromRevisions) ---------------------------------
def test_revisions_to_path():
    leaf = {"status": "available", "deleted": True}
    path = revisions_to_path({"start": 3, "ids": ["c", "b", "a"]}, leaf)
    assert path == P(1, ["a", {"status": "missing"}, [["b", {"status": "missing"}, [["c", leaf, []]]]]])
    assert path["ids"][2][0][2][0][1] is not leaf  # the leaf gets its own copy


def test_revisions_to_path_stemmed_history():
    assert revisions_to_path({"start": 10, "ids": ["j", "i"]}, {"status": "available"}) == P(
        9, ["i", {"status": "missing"}, [["j", {"status": "available"}, []]]]
    )


def test_revisions_to_path_single_rev():
    assert revisions_to_path({"start": 1, "ids": ["a"]}, {}) == P(1, ["a", {}, []])


def test_revisions_to_path_takes_a_bare_revision():
    assert revisions_to_path({"start": 1, "ids": [""]}, {}) == P(1, ["", {}, []])


def test_revisions_to_path_survives_json():
    path = revisions_to_path({"start": 2, "ids": ["b", "a"]}, {"status": "available"})
    assert json.loads(json.dumps(path)) == path


@pytest.mark.parametrize(
    "revisions",
    [
        {"start": 1, "ids": []},
        {"start": "3", "ids": ["c"]},
        {"start": True, "ids": ["c"]},
        {"start": 2.0, "ids": ["b", "a"]},
        {"ids": ["a"]},
        {"start": 1},
        {"start": 1, "ids": "a"},
        {"start": 1, "ids": [1]},
        {"start": 1, "ids": ["b", "a"]},  # would put the root at pos 0
        ["start", "ids"],
    ],
)
def test_revisions_to_path_rejects(revisions):
    with pytest.raises(ValueError):
        revisions_to_path(revisions, {"status": "available"})


# --- _revisions and _revs_info ---------------------------------------------------------------
DEL = {"status": "available", "deleted": True}
TREE = [P(1, ["a", {"status": "missing"}, [
    ["b", {"status": "available"}, [["c", DEL, []]]],
    ["b2", {"status": "missing", "deleted": True}, [["c2", {"status": "available"}, []]]],
]])]


@pytest.mark.parametrize(
    "rev,expected",
    [
        ("3-c", {"start": 3, "ids": ["c", "b", "a"]}),
        ("3-c2", {"start": 3, "ids": ["c2", "b2", "a"]}),
        ("2-b", {"start": 2, "ids": ["b", "a"]}),
        ("1-a", {"start": 1, "ids": ["a"]}),
    ],
)
def test_path_revisions(rev, expected):
    assert path_revisions(TREE, rev) == expected


def test_revs_info_statuses():
    assert revs_info(TREE, "3-c") == [
        {"rev": "3-c", "status": "deleted"},
        {"rev": "2-b", "status": "available"},
        {"rev": "1-a", "status": "missing"},
    ]
    # A deleted rev whose body is gone reports "missing", as in CouchDB.
    assert revs_info(TREE, "3-c2") == [
        {"rev": "3-c2", "status": "available"},
        {"rev": "2-b2", "status": "missing"},
        {"rev": "1-a", "status": "missing"},
    ]


def test_nodes_without_status_count_as_available():
    assert revs_info([P(1, ["a", {}, []])], "1-a") == [{"rev": "1-a", "status": "available"}]


def test_ancestry_of_a_stemmed_tree_stops_at_its_root():
    tree = [P(5, ["e", {"status": "missing"}, [["f", {"status": "available"}, []]]])]
    assert path_revisions(tree, "6-f") == {"start": 6, "ids": ["f", "e"]}
    assert revs_info(tree, "6-f") == [{"rev": "6-f", "status": "available"}, {"rev": "5-e", "status": "missing"}]


def test_rev_under_two_roots_reports_longest_ancestry():
    # After stemming 2-b heads one root and also sits in the unstemmed one.
    tree = [P(1, ["a", {}, [["b", {}, [["c2", {}, []]]]]]), P(2, ["b", {}, [["c", {}, [["d", {}, []]]]]])]
    assert path_revisions(tree, "2-b") == {"start": 2, "ids": ["b", "a"]}
    assert path_revisions(tree, "4-d") == {"start": 4, "ids": ["d", "c", "b"]}


@pytest.mark.parametrize("rev", ["3-zz", "2-c", "9-c"])
def test_unknown_rev(rev):
    with pytest.raises(RevNotFoundError):
        path_revisions(TREE, rev)
    with pytest.raises(RevNotFoundError):
        revs_info(TREE, rev)


def test_revisions_round_trip_through_merge():
    revisions = {"start": 4, "ids": ["d", "c", "b", "a"]}
    tree = merge([], revisions_to_path(revisions, {"status": "available"}), 1000).tree
    assert path_revisions(tree, "4-d") == revisions


# --- _revs_diff --------------------------------------------------------------------------------
def test_find_missing_couch_key_tree_cases():
    # couch_key_tree_tests.erl should_(not_)find_missing_leaves, with pos shifted to start at 1.
    two_child_sibs = [P(1, ["1", {}, [["1a", {}, []], ["1b", {}, []]]])]
    stemmed1 = [P(2, ["1a", {}, [["1aa", {}, []]]])]
    stemmed2 = [P(3, ["1aa", {}, []])]
    assert find_missing(two_child_sibs, ["1-1", "2-1a"]) == []
    assert find_missing(two_child_sibs, ["1-1", "1-10", "2-1a", "101-x"]) == ["1-10", "101-x"]
    assert find_missing(stemmed1, ["1-1", "2-1a", "101-x"]) == ["1-1", "101-x"]
    assert find_missing(stemmed2, ["1-1", "2-1a", "101-x"]) == ["1-1", "2-1a", "101-x"]


DIFF_TREE = [P(1, ["a", {}, [
    ["b", {}, [["c", {}, [["d", {}, []]]]]],
    ["b2", DEL, []],
    ["b3", {}, [["c3", {}, []]]],
]])]


@pytest.mark.parametrize(
    "missing,expected",
    [
        # All leaves below pos 5, deleted first, then live ones by ascending rev.
        ("5-x", ["2-b2", "3-c3", "4-d"]),
        ("4-x", ["2-b2", "3-c3"]),
        ("3-x", ["2-b2"]),
        ("2-x", []),
        (["2-x", "4-y"], ["2-b2", "3-c3"]),  # lower than any one of the missing revs
        ([], []),
    ],
)
def test_possible_ancestors(missing, expected):
    assert possible_ancestors(DIFF_TREE, missing) == expected


def test_possible_ancestors_of_empty_tree():
    assert possible_ancestors([], "3-x") == []
