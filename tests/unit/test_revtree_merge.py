"""merge(): PouchDB's tests/unit/test.merge.js, CouchDB's couch_key_tree_tests.erl merge cases,
and the behaviours that decide what PouchDB devices store (opts precedence, labels, order)."""
from __future__ import annotations

import copy
import json

import pytest

from sync.revtree import MergeResult, merge, revisions_to_path, winning_rev


def P(pos, ids):  # noqa: N802 - reads like the JS literals
    return {"pos": pos, "ids": ids}


# --- PouchDB tests/unit/test.merge.js fixtures, verbatim ------------------------------------
simple = P(1, ["1", {}, []])
two0 = P(1, ["1", {}, [["2_0", {}, []]]])
two1 = P(1, ["1", {}, [["2_1", {}, []]]])
newleaf = P(2, ["2_0", {}, [["3", {}, []]]])
withnewleaf = P(1, ["1", {}, [["2_0", {}, [["3", {}, []]]]]])
newbranch = P(1, ["1", {}, [["2_0", {}, []], ["2_1", {}, []]]])
newdeepbranch = P(2, ["2_0", {}, [["3_1", {}, []]]])
stemmededit = P(3, ["3", {}, []])
stemmedconflicts = [simple, stemmededit]
newbranchleaf = P(1, ["1", {}, [["2_0", {}, [["3", {}, []]]], ["2_1", {}, []]]])
newbranchleafbranch = P(1, ["1", {}, [["2_0", {}, [["3", {}, []], ["3_1", {}, []]]], ["2_1", {}, []]]])
stemmed2 = [P(1, ["1", {}, [["2_1", {}, []]]]), P(2, ["2_0", {}, [["3", {}, []], ["3_1", {}, []]]])]
stemmed3 = [P(2, ["2_1", {}, []]), P(3, ["3", {}, []]), P(3, ["3_1", {}, []])]
partialrecover = [P(1, ["1", {}, [["2_0", {}, [["3", {}, []]]]]]), P(2, ["2_1", {}, []]), P(3, ["3_1", {}, []])]

# The kt-merging.erl part of test.merge.js
one = P(1, ["1", {}, []])
two = P(1, ["2", {}, []])
three = P(1, ["3", {}, []])
twoSibs = [one, two]
threeSibs = [one, two, three]
twoChild = P(1, ["1", {}, [["1a", {}, [["1aa", {}, []]]]]])
twoChildSibs = P(1, ["1", {}, [["1a", {}, []], ["1b", {}, []]]])
twoChildPlusSibs = P(1, ["1", {}, [["1a", {}, [["1aa", {}, []]]], ["1b", {}, []]]])
stemmed1b = P(2, ["1a", {}, []])
twoChildPlusSibs2 = P(1, ["1", {}, [["1a", {}, []], ["1b", {}, [["1bb", {}, []]]]]])
stemmed1bb = P(3, ["1bb", {}, []])
stemmedTwoChildSibs2 = [P(2, ["1a", {}, []]), P(2, ["1b", {}, [["1bb", {}, []]]])]
stemmed1aa = P(3, ["1aa", {}, []])
stemmed1a = P(2, ["1a", {}, [["1aa", {}, []]]])
oneChild = P(1, ["1", {}, [["1a", {}, []]]])
foo = P(1, ["foo", {}, [["foo2", {}, []], ["foo3", {}, []]]])
bar = P(1, ["foo", {}, [["foo3", {}, [["foo4", {}, []]]]]])
fooBar = P(1, ["foo", {}, [["foo2", {}, []], ["foo3", {}, [["foo4", {}, []]]]]])

# (name, tree, path, depth, expected tree, expected stemmedRevs, expected conflicts)
POUCHDB_CASES = [
    ("Merging a path into an empty tree is the path", [], simple, 10, [simple], [], "new_leaf"),
    ("Remerge path into path is reflexive", [simple], simple, 10, [simple], [], "internal_node"),
    ("Merging a path with multiple entries is the path", [], two0, 10, [two0], [], "new_leaf"),
    ("Merging a path with multiple entries is reflexive", [two0], two0, 10, [two0], [], "internal_node"),
    ("Merging a subpath into a path results in the path", [two0], simple, 10, [two0], [], "internal_node"),
    ("Merging a new leaf gives us a new leaf", [two0], newleaf, 10, [withnewleaf], [], "new_leaf"),
    ("Merging a new branch returns a proper tree", [two0], two1, 10, [newbranch], [], "new_branch"),
    ("Order of merging does not affect the resulting tree", [two1], two0, 10, [newbranch], [], "new_branch"),
    ("Merging a new_leaf doesnt return new_branch when branches exist",
     [newbranch], newleaf, 10, [newbranchleaf], [], "new_leaf"),
    ("Merging a deep branch with branches works",
     [newbranchleaf], newdeepbranch, 10, [newbranchleafbranch], [], "new_branch"),
    ("New information reconnects steming induced conflicts",
     stemmedconflicts, withnewleaf, 10, [withnewleaf], [], "new_leaf"),
    ("Simple stemming works", [two0], newleaf, 2, [newleaf], ["1-1"], "new_leaf"),
    ("Merge with stemming works correctly for branches",
     [newbranchleafbranch], simple, 2, stemmed2, [], "internal_node"),
    ("Merge with stemming to leaves works fine",
     [newbranchleafbranch], simple, 1, stemmed3, ["1-1", "2-2_0"], "internal_node"),
    ("Merging unstemmed recovers as much as possible without losing info",
     stemmed3, withnewleaf, 10, partialrecover, [], "internal_node"),
    ("The empty tree is the identity for merge.", [], one, 10, [one], [], "new_leaf"),
    ("Merging is reflexive", [one], one, 10, [one], [], "internal_node"),
    ("Merging a prefix of a tree with the tree yields the tree.", twoSibs, one, 10, twoSibs, [], "internal_node"),
    ("Merging a third unrelated branch leads to a conflict.", twoSibs, three, 10, threeSibs, [], "internal_node"),
    ("Merging two children is still reflexive.", [twoChild], twoChild, 10, [twoChild], [], "internal_node"),
    ("Merging a tree to itself is itself.", [twoChildSibs], twoChildSibs, 10, [twoChildSibs], [], "internal_node"),
    ("Merging tree of uneven length at node 2.", [twoChild], twoChildSibs, 10, [twoChildPlusSibs], [], "new_branch"),
    ("Merging a tree with a stem.", [twoChildSibs], stemmed1b, 10, [twoChildSibs], [], "internal_node"),
    ("Merging a stem at a deeper level.", [twoChildPlusSibs2], stemmed1bb, 10, [twoChildPlusSibs2], [], "internal_node"),
    ("Merging a stem at a deeper level against paths at deeper levels.",
     stemmedTwoChildSibs2, stemmed1bb, 10, stemmedTwoChildSibs2, [], "internal_node"),
    ("Merging a single tree with a deeper stem.", [twoChild], stemmed1aa, 10, [twoChild], [], "internal_node"),
    ("Merging a larger stem.", [twoChild], stemmed1a, 10, [twoChild], [], "internal_node"),
    ("More merging.", [stemmed1a], stemmed1aa, 10, [stemmed1a], [], "internal_node"),
    ("Merging should create conflicts.", [oneChild], stemmed1aa, 10, [oneChild, stemmed1aa], [], "internal_node"),
    ("Merging should have no conflicts.", [oneChild, stemmed1aa], twoChild, 10, [twoChild], [], "new_leaf"),
    ("Merging trees with conflicts ought to behave.", [foo], bar, 10, [fooBar], [], "new_leaf"),
]


@pytest.mark.parametrize(
    "tree,path,depth,expected_tree,expected_stemmed,expected_conflicts",
    [case[1:] for case in POUCHDB_CASES],
    ids=[case[0] for case in POUCHDB_CASES],
)
def test_pouchdb_merge_cases(tree, path, depth, expected_tree, expected_stemmed, expected_conflicts):
    assert merge(tree, path, depth) == MergeResult(expected_tree, expected_stemmed, expected_conflicts)


@pytest.mark.parametrize("tree,path,depth", [case[1:4] for case in POUCHDB_CASES], ids=[c[0] for c in POUCHDB_CASES])
def test_merge_leaves_inputs_untouched(tree, path, depth):
    # PouchDB mutates its arguments (its tests rebuild fixtures in beforeEach); this port must not.
    tree_before, path_before = copy.deepcopy(tree), copy.deepcopy(path)
    merge(tree, path, depth)
    assert tree == tree_before
    assert path == path_before


def _all_objects(obj, out):
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, dict)):
            out.append(item)
            stack.extend(item.values() if isinstance(item, dict) else item)
    return out


@pytest.mark.parametrize("tree,path,depth", [case[1:4] for case in POUCHDB_CASES], ids=[c[0] for c in POUCHDB_CASES])
def test_merge_result_shares_no_objects(tree, path, depth):
    result = merge(tree, path, depth).tree
    inputs = {id(o) for o in _all_objects([tree, path], [])}
    outputs = [id(o) for o in _all_objects(result, [])]
    assert not inputs & set(outputs)
    assert len(outputs) == len(set(outputs)), "a node or opts dict appears twice in the result"
    assert json.loads(json.dumps(result)) == result


# --- CouchDB src/couch/test/eunit/couch_key_tree_tests.erl (values become opts) ---------------
FOO, BAR, BOO = {"v": "foo"}, {"v": "bar"}, {"v": "boo"}


def test_couch_merge_with_empty_tree():
    one_ = P(1, ["1", FOO, []])
    assert merge([], one_, 10) == MergeResult([one_], [], "new_leaf")


def test_couch_merge_reflexive():
    one_ = P(1, ["1", FOO, []])
    assert merge([one_], one_, 10) == MergeResult([one_], [], "internal_node")


def test_couch_merge_prefix_of_a_tree_with_tree():
    sibs = [P(1, ["1", FOO, []]), P(1, ["2", FOO, []])]
    assert merge(sibs, P(1, ["1", FOO, []]), 10) == MergeResult(sibs, [], "internal_node")


def test_couch_unrelated_branch_is_added_but_labelled_internal_node():
    # CouchDB answers new_branch here; PouchDB (and so this port) says internal_node.
    sibs = [P(1, ["1", FOO, []]), P(1, ["2", FOO, []])]
    result = merge(sibs, P(1, ["3", FOO, []]), 10)
    assert result.tree == sibs + [P(1, ["3", FOO, []])]
    assert result.conflicts == "internal_node"


def test_couch_merge_reflexive_for_child_nodes():
    two_child = P(1, ["1", FOO, [["1a", BAR, [["1aa", BAR, []]]]]])
    assert merge([two_child], two_child, 10) == MergeResult([two_child], [], "internal_node")


def test_couch_merge_tree_to_itself_leaf_by_leaf():
    sibs = P(1, ["1", FOO, [["1a", BAR, []], ["1b", BAR, []]]])
    tree = [sibs]
    for leaf_path in (P(1, ["1", {}, [["1a", BAR, []]]]), P(1, ["1", {}, [["1b", BAR, []]]])):
        result = merge(tree, leaf_path, 10)
        assert result.conflicts == "internal_node"
        tree = result.tree
    assert tree == [sibs]


def test_couch_merge_tree_of_odd_length():
    two_child = P(1, ["1", FOO, [["1a", BAR, [["1aa", BAR, []]]]]])
    sibs = P(1, ["1", FOO, [["1a", BAR, []], ["1b", BAR, []]]])
    plus = P(1, ["1", FOO, [["1a", BAR, [["1aa", BAR, []]]], ["1b", BAR, []]]])
    assert merge([sibs], two_child, 10) == MergeResult([plus], [], "new_leaf")


def test_couch_merge_tree_with_stem():
    sibs = P(1, ["1", FOO, [["1a", BAR, []], ["1b", BAR, []]]])
    assert merge([sibs], P(2, ["1a", BAR, []]), 10) == MergeResult([sibs], [], "internal_node")


def test_couch_merge_with_stem_at_deeper_level():
    sibs = P(1, ["1", FOO, [["1a", BAR, []], ["1b", BAR, [["1bb", BOO, []]]]]])
    assert merge([sibs], P(3, ["1bb", BOO, []]), 10) == MergeResult([sibs], [], "internal_node")


def test_couch_merge_with_stem_at_deeper_level_with_deeper_paths():
    stemmed = [P(2, ["1a", BAR, []]), P(2, ["1b", BAR, [["1bb", BOO, []]]])]
    assert merge(stemmed, P(3, ["1bb", BOO, []]), 10) == MergeResult(stemmed, [], "internal_node")


def test_couch_merge_single_tree_with_deeper_stem():
    two_child = P(1, ["1", FOO, [["1a", BAR, [["1aa", BAR, []]]]]])
    assert merge([two_child], P(3, ["1aa", BAR, []]), 10) == MergeResult([two_child], [], "internal_node")


def test_couch_merge_tree_with_large_stem():
    two_child = P(1, ["1", FOO, [["1a", BAR, [["1aa", BAR, []]]]]])
    assert merge([two_child], P(2, ["1a", BAR, [["1aa", BAR, []]]]), 10) == MergeResult(
        [two_child], [], "internal_node"
    )


def test_couch_merge_stems():
    stemmed_a = P(2, ["1a", BAR, [["1aa", BAR, []]]])
    assert merge([stemmed_a], P(3, ["1aa", BAR, []]), 10) == MergeResult([stemmed_a], [], "internal_node")


def test_couch_stem_that_attaches_nowhere_is_kept_apart():
    # CouchDB labels this new_branch; PouchDB internal_node.
    one_child = P(1, ["1", FOO, [["1a", BAR, []]]])
    stem_ = P(3, ["1aa", BAR, []])
    assert merge([one_child], stem_, 10) == MergeResult([one_child, stem_], [], "internal_node")


def test_couch_create_no_conflicts_on_merge():
    one_child = P(1, ["1", FOO, [["1a", BAR, []]]])
    two_child = P(1, ["1", FOO, [["1a", BAR, [["1aa", BAR, []]]]]])
    assert merge([one_child, P(3, ["1aa", BAR, []])], two_child, 10) == MergeResult([two_child], [], "new_leaf")


def test_couch_902_ignores_conflicting_branch_and_keeps_existing_values():
    foo_ = P(1, ["foo", {"v": "val1"}, [["foo2", {"v": "val2"}, []], ["foo3", {"v": "val3"}, []]]])
    bar_ = P(1, ["foo", {}, [["foo3", {}, [["foo4", {"v": "val4"}, []]]]]])
    foo_bar = P(1, ["foo", {"v": "val1"}, [
        ["foo2", {"v": "val2"}, []],
        ["foo3", {"v": "val3"}, [["foo4", {"v": "val4"}, []]]],
    ]])
    assert merge([foo_], bar_, 10) == MergeResult([foo_bar], [], "new_leaf")


# --- status and opts --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "old,new,expected",
    [
        ({"status": "missing"}, {"status": "available"}, {"status": "available"}),
        ({"status": "available"}, {"status": "missing"}, {"status": "available"}),
        ({"status": "missing"}, {"status": "missing"}, {"status": "missing"}),
        ({"status": "missing"}, {}, {"status": "missing"}),
        ({}, {"status": "available"}, {"status": "available"}),
        ({}, {}, {}),  # no status appears from nowhere
        ({"status": "bogus"}, {}, {"status": "missing"}),  # anything but "available" is missing
    ],
)
def test_status_of_a_node_known_to_both(old, new, expected):
    result = merge([P(1, ["r", old, []])], P(1, ["r", new, []]), 10)
    assert result.tree == [P(1, ["r", expected, []])]


def test_existing_opts_win_when_roots_align():
    # Only status is merged; the stored node keeps its `deleted`.
    tree = [P(2, ["b", {"status": "available", "deleted": True}, []])]
    path = P(2, ["b", {"status": "missing"}, [["c", {"status": "available"}, []]]])
    assert merge(tree, path, 10) == MergeResult(
        [P(2, ["b", {"status": "available", "deleted": True}, [["c", {"status": "available"}, []]]])],
        [],
        "new_leaf",
    )


def test_incoming_opts_win_when_the_path_is_rooted_earlier():
    # PouchDB grafts the stored branch into the longer incoming path, so the path's opts win
    # (`deleted` on 2-b is lost) and, since the stored side added nothing, the label is
    # internal_node although 3-c is new. Checked against pouchdb-node 9.0.0.
    tree = [P(2, ["b", {"status": "available", "deleted": True}, []])]
    path = P(1, ["a", {"status": "missing"}, [["b", {"status": "missing"}, [["c", {"status": "available"}, []]]]]])
    assert merge(tree, path, 10) == MergeResult(
        [P(1, ["a", {"status": "missing"}, [["b", {"status": "available"}, [["c", {"status": "available"}, []]]]]])],
        [],
        "internal_node",
    )


# --- labels and sibling order ------------------------------------------------------------------
def test_new_branches_are_inserted_in_hash_order():
    tree = [P(1, ["r", {}, [["a", {}, []], ["c", {}, []]]])]
    result = merge(tree, P(1, ["r", {}, [["b", {}, []]]]), 10)
    assert result == MergeResult([P(1, ["r", {}, [["a", {}, []], ["b", {}, []], ["c", {}, []]]])], [], "new_branch")


def test_new_branch_sorts_before_existing_child():
    result = merge([P(1, ["r", {}, [["b", {}, []]]])], P(1, ["r", {}, [["a", {}, []]]]), 10)
    assert result.tree == [P(1, ["r", {}, [["a", {}, []], ["b", {}, []]]])]


@pytest.mark.parametrize(
    "tree,expected_tree,expected_conflicts",
    [
        # Both children match and are queued; the stack visits z first, then a: a's graft is last.
        (
            [P(1, ["r", {}, [["a", {}, [["b", {}, []]]], ["z", {}, []]]])],
            [P(1, ["r", {}, [["a", {}, [["b", {}, []], ["c", {}, []]]], ["z", {}, [["y", {}, []]]]]])],
            "new_branch",
        ),
        (
            [P(1, ["r", {}, [["a", {}, []], ["z", {}, [["b", {}, []]]]]])],
            [P(1, ["r", {}, [["a", {}, [["c", {}, []]]], ["z", {}, [["b", {}, []], ["y", {}, []]]]]])],
            "new_leaf",
        ),
        # An immediate new_branch (a) is overwritten by the later new_leaf under z.
        (
            [P(1, ["r", {}, [["z", {}, []]]])],
            [P(1, ["r", {}, [["a", {}, [["c", {}, []]]], ["z", {}, [["y", {}, []]]]]])],
            "new_leaf",
        ),
    ],
)
def test_label_is_the_last_graft_in_stack_order(tree, expected_tree, expected_conflicts):
    path = P(1, ["r", {}, [["a", {}, [["c", {}, []]]], ["z", {}, [["y", {}, []]]]]])
    assert merge(tree, path, 10) == MergeResult(expected_tree, [], expected_conflicts)


def test_path_absorbing_two_stemmed_roots():
    tree = [P(2, ["a", {}, []]), P(2, ["b", {}, []])]
    path = P(1, ["r", {}, [["a", {}, [["a3", {}, []]]], ["b", {}, []]]])
    assert merge(tree, path, 10) == MergeResult(
        [P(1, ["r", {}, [["a", {}, [["a3", {}, []]]], ["b", {}, []]]])], [], "internal_node"
    )


def test_depth_none_never_stems():
    chain = revisions_to_path({"start": 30, "ids": [f"h{i}" for i in range(30, 0, -1)]}, {"status": "available"})
    result = merge([], chain, None)
    assert result.tree == [chain]
    assert result.stemmed_revs == []


# --- whole write flows, as PouchDB's bulkDocs builds paths ------------------------------------
def _edit(tree, parent_rev, new_hash, depth=1000, deleted=False):
    pos, parent_hash = parent_rev.split("-", 1)
    leaf = {"status": "available", **({"deleted": True} if deleted else {})}
    path = P(int(pos), [parent_hash, {"status": "missing"}, [[new_hash, leaf, []]]])
    return merge(tree, path, depth)


def test_linear_edits_then_conflict_then_delete():
    r = merge([], P(1, ["a", {"status": "available"}, []]), 1000)
    assert r.conflicts == "new_leaf"
    r = _edit(r.tree, "1-a", "b")
    assert r.conflicts == "new_leaf" and winning_rev(r.tree) == "2-b"
    # Earlier revs keep "available" until compaction: merge only ever upgrades status.
    assert r.tree == [P(1, ["a", {"status": "available"}, [["b", {"status": "available"}, []]]])]
    r = _edit(r.tree, "1-a", "c")  # a second edit of 1-a forks
    assert r.conflicts == "new_branch" and winning_rev(r.tree) == "2-c"
    r = _edit(r.tree, "2-c", "d", deleted=True)  # deleting the winner hands the win to 2-b
    assert r.conflicts == "new_leaf" and winning_rev(r.tree) == "2-b"


def test_replicated_history_with_missing_ancestors():
    tree = [P(1, ["a", {"status": "available"}, [["b", {"status": "available"}, []]]])]
    incoming = revisions_to_path({"start": 4, "ids": ["d", "c", "b", "a"]}, {"status": "available"})
    r = merge(tree, incoming, 1000)
    assert r == MergeResult(
        [P(1, ["a", {"status": "available"}, [["b", {"status": "available"}, [
            ["c", {"status": "missing"}, [["d", {"status": "available"}, []]]]
        ]]]])],
        [],
        "new_leaf",
    )


def test_revs_limit_stems_and_reports_dropped_revs():
    r = merge([], P(1, ["a", {"status": "available"}, []]), 3)
    dropped = []
    for parent, child in [("1-a", "b"), ("2-b", "c"), ("3-c", "d"), ("4-d", "e")]:
        r = _edit(r.tree, parent, child, depth=3)
        dropped.append(r.stemmed_revs)
    assert dropped == [[], [], ["1-a"], ["2-b"]]
    assert r.tree == [P(3, ["c", {"status": "available"}, [["d", {"status": "available"}, [["e", {"status": "available"}, []]]]]])]
    assert r.conflicts == "new_leaf"


def test_deep_chain_is_handled_iteratively():
    # 3000 generations: recursion would overflow; the revs limit keeps the newest 1000.
    ids = [f"h{i}" for i in range(3000, 0, -1)]
    r = merge([], revisions_to_path({"start": 3000, "ids": ids}, {"status": "available"}), 1000)
    assert r.tree[0]["pos"] == 2001
    assert len(r.stemmed_revs) == 2000 and r.stemmed_revs[0] == "1-h1" and r.stemmed_revs[-1] == "2000-h2000"
    assert winning_rev(r.tree) == "3000-h3000"
