"""Differential check against the real pouchdb-merge code shipped in tests/node_modules
(pouchdb-node 9.0.0): random histories are merged, stemmed and queried by both sides.

Skipped when node or the npm packages are not installed.
"""
from __future__ import annotations

import itertools
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

import sync.revtree as rt

POUCHDB = Path(__file__).resolve().parents[1] / "node_modules" / "pouchdb-node" / "lib" / "index.js"

# Evaluates pouchdb-node's own merge functions (the block from winningRev to latest).
HARNESS = r"""
const fs = require('fs');
const src = fs.readFileSync(process.argv[1], 'utf8');
const start = src.indexOf('function winningRev(metadata)');
const end = src.indexOf('function tryCatchInChangeListener');
if (start < 0 || end < start) { process.stdout.write('"markers not found"'); process.exit(0); }
const lib = new Function(src.slice(start, end) + '\nreturn {winningRev, traverseRevTree, ' +
  'collectLeaves, collectConflicts, compactTree, findPathToLeaf, rootToLeaf, merge, stem, ' +
  'revExists, isDeleted, latest};')();
const run = (op, a) => {
  switch (op) {
    case 'merge': return lib.merge(a[0], a[1], a[2]);
    case 'stem': return lib.stem(a[0], a[1]);
    case 'winningRev': return lib.winningRev({rev_tree: a[0]});
    case 'collectLeaves': return lib.collectLeaves(a[0]);
    case 'collectConflicts': return lib.collectConflicts({rev_tree: a[0]});
    case 'rootToLeaf': return lib.rootToLeaf(a[0]);
    case 'revExists': return lib.revExists(a[0], a[1]);
    case 'isDeleted': return lib.isDeleted({rev_tree: a[0]});
    case 'latest': return lib.latest(a[1], {rev_tree: a[0]});
    case 'findPathToLeaf': return lib.findPathToLeaf(a[0], a[1]);
    case 'compactTree': { const m = {rev_tree: a[0]}; const revs = lib.compactTree(m); return [m.rev_tree, revs]; }
    case 'traverse': {
      const seen = [];
      lib.traverseRevTree(a[0], (leaf, pos, id, ctx) => {
        seen.push([leaf, pos, id, ctx === undefined ? null : ctx]); return pos + '-' + id; });
      return seen;
    }
  }
  throw new Error('unknown op ' + op);
};
const cases = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(cases.map(([op, args]) => {
  try { return {ok: run(op, JSON.parse(JSON.stringify(args)))}; }  // the JS mutates its input
  catch (e) { return {error: e.message}; }
})));
"""


def _run_pouchdb(cases: list) -> list:
    node = shutil.which("node")
    if node is None or not POUCHDB.is_file():
        pytest.skip("node or tests/node_modules/pouchdb-node is not installed")
    proc = subprocess.run(
        [node, "-e", HARNESS, str(POUCHDB)], input=json.dumps(cases), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    if out == "markers not found":
        pytest.skip("pouchdb-node's bundle no longer has the expected layout")
    return out


# --- random histories ---------------------------------------------------------------------------
ALPHABET = "abcdef"
# Non-ASCII hashes exercise the UTF-16 ordering (U+E000 vs the astral U+1D11E).
ODD = ["a", "b", "Z", "\ue000", "\U0001d11e", "\u00e9"]


def _universe(rng: random.Random, size: int, unique: bool, odd: float):
    """A random revision forest: (pos, hash, parent index) per node; hashes unique among
    siblings always, and across the whole forest when `unique` (real revs are)."""
    nodes: list[tuple[int, str, int | None]] = []
    children: dict[int | None, list[int]] = {}
    used: set[str] = set()

    def fresh(parent: int | None) -> str:
        siblings = {nodes[i][1] for i in children.get(parent, [])}
        while True:
            if rng.random() < odd:
                h = "".join(rng.choice(ODD) for _ in range(rng.randint(1, 2)))
            else:
                h = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 3 if unique else 2)))
            if h not in siblings and not (unique and h in used):
                used.add(h)
                return h

    def add(pos: int, parent: int | None) -> None:
        nodes.append((pos, fresh(parent), parent))
        children.setdefault(parent, []).append(len(nodes) - 1)

    for _ in range(rng.choice([1, 1, 1, 2, 3])):  # independent creations of the same doc id
        add(1, None)
    while len(nodes) < size:
        # Mostly extend recent revs (long chains), sometimes fork anywhere.
        parent = len(nodes) - 1 - rng.randrange(min(3, len(nodes))) if rng.random() < 0.6 else rng.randrange(len(nodes))
        add(nodes[parent][0] + 1, parent)
    return nodes, children


def _opts(rng: random.Random, leaf: bool) -> dict:
    if not leaf:
        return dict(rng.choice([{"status": "missing"}, {"status": "missing"}, {}, {"status": "available"}]))
    opts = dict(rng.choice([{"status": "available"}, {"status": "available"}, {}, {"status": "missing"}]))
    if rng.random() < 0.3:
        opts["deleted"] = True
    return opts


def _incoming_path(rng: random.Random, nodes, children) -> dict:
    v = rng.randrange(len(nodes))
    if rng.random() < 0.75:  # a `_revisions` chain, as replication and bulkDocs send
        ids, cur = [], v
        limit = rng.randint(1, 8)
        while cur is not None and len(ids) < limit:
            ids.append(nodes[cur][1])
            cur = nodes[cur][2]
        return rt.revisions_to_path({"start": nodes[v][0], "ids": ids}, _opts(rng, True))
    max_depth = rng.randint(0, 4)  # a branching subtree, as in PouchDB's own merge tests

    def build(i: int, depth: int) -> list:
        kids = [build(c, depth + 1) for c in children.get(i, []) if depth < max_depth and rng.random() < 0.8]
        return [nodes[i][1], _opts(rng, not kids), kids]

    return {"pos": nodes[v][0], "ids": build(v, 0)}


def _scenarios(seed: int, count: int, odd: float):
    """`odd`: the share of hashes drawn from ODD."""
    rng = random.Random(seed)
    for _ in range(count):
        unique = rng.random() < 0.7
        nodes, children = _universe(rng, rng.randint(2, 25), unique, odd)
        tree: list = []
        steps = []
        for _ in range(rng.randint(1, 10)):
            path = _incoming_path(rng, nodes, children)
            depth = rng.choice([1, 2, 3, 4, 6, 1000])
            steps.append((tree, path, depth))
            tree = rt.merge(tree, path, depth).tree
        yield rng, steps, tree, unique


@pytest.fixture(scope="module")
def cases():
    """[(op, args, our answer)], answered by this port; PouchDB's answers are added below."""
    out = []

    def add(op, args, ours):
        out.append((op, args, ours))

    scenarios = itertools.chain(_scenarios(seed=20240601, count=300, odd=0.0), _scenarios(seed=7, count=100, odd=0.9))
    for rng, steps, tree, unique in scenarios:
        for before, path, depth in steps:
            r = rt.merge(before, path, depth)
            add("merge", [before, path, depth], {"tree": r.tree, "stemmedRevs": r.stemmed_revs, "conflicts": r.conflicts})
        depth = rng.choice([1, 2, 3])
        stemmed, revs = rt.stem(tree, depth)
        add("stem", [tree, depth], {"tree": stemmed, "revs": revs})
        add("winningRev", [tree], rt.winning_rev(tree))
        add("collectLeaves", [tree], [{"rev": leaf["rev"], "opts": leaf["opts"]} for leaf in rt.collect_leaves(tree)])
        add("collectConflicts", [tree], rt.collect_conflicts(tree))
        add("rootToLeaf", [tree], [
            {"pos": p["pos"], "ids": [{"id": h, "opts": o} for h, o in p["ids"]]} for p in rt.root_to_leaf(tree)
        ])
        seen: list = []
        rt.traverse_rev_tree(tree, lambda leaf, pos, h, ctx, _o: (seen.append([leaf, pos, h, ctx]), f"{pos}-{h}")[1])
        add("traverse", [tree], seen)
        add("compactTree", [tree], list(rt.compact_tree(tree)))
        if unique:  # PouchDB's isDeleted matches the hash alone
            add("isDeleted", [tree], rt.is_deleted(tree))
        revs_in_tree: list[str] = []
        rt.traverse_rev_tree(tree, lambda _l, pos, h, _c, _o: revs_in_tree.append(f"{pos}-{h}"))
        for rev in revs_in_tree + ["99-zz", "1-nope"]:
            add("revExists", [tree, rev], rt.rev_exists(tree, rev))
            try:
                ours = rt.latest(rev, tree)
            except rt.RevNotFoundError:
                ours = "error"
            add("latest", [tree, rev], ours)
            try:
                ours = rt.find_path_to_leaf(tree, rev)
            except (rt.RevNotFoundError, rt.NotALeafError) as exc:
                ours = "error: " + str(exc)
            add("findPathToLeaf", [tree, rev], ours)
    answers = _run_pouchdb([[op, args] for op, args, _ours in out])
    result = []
    for (op, args, ours), answer in zip(out, answers, strict=True):
        if "error" in answer:
            theirs = "error" if op == "latest" else "error: " + answer["error"]
        else:
            theirs = answer["ok"]
        result.append((op, args, ours, theirs))
    return result


def _mismatches(cases, ops):
    selected = [c for c in cases if c[0] in ops]
    assert selected, f"no {ops} cases generated"
    bad = [c for c in selected if c[2] != c[3]]
    return [f"{op}{json.dumps(args, ensure_ascii=False)[:500]}\n ours:   {ours}\n pouchdb:{theirs}"
            for op, args, ours, theirs in bad[:3]]


def test_merge_matches_pouchdb(cases):
    labels = {c[3]["conflicts"] for c in cases if c[0] == "merge" and isinstance(c[3], dict)}
    assert labels == {"new_leaf", "new_branch", "internal_node"}  # the generator reaches every label
    assert _mismatches(cases, {"merge"}) == []


def test_stem_matches_pouchdb(cases):
    assert _mismatches(cases, {"stem"}) == []


def test_winner_leaves_and_conflicts_match_pouchdb(cases):
    assert _mismatches(cases, {"winningRev", "collectLeaves", "collectConflicts", "isDeleted"}) == []


def test_traversals_match_pouchdb(cases):
    assert _mismatches(cases, {"rootToLeaf", "traverse", "compactTree"}) == []


def test_lookups_match_pouchdb(cases):
    assert _mismatches(cases, {"revExists", "latest", "findPathToLeaf"}) == []
