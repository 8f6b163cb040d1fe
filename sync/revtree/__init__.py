"""Revision trees: a pure-Python port of PouchDB's pouchdb-merge (Apache-2.0), plus the
CouchDB-side helpers the HTTP layer needs. No I/O. See tree.py for the data shape."""
from __future__ import annotations

from .collect_conflicts import collect_conflicts, collect_deleted_conflicts
from .collect_leaves import collect_leaves
from .compact_tree import compact_tree
from .do_merge import Conflicts
from .errors import NotALeafError, RevNotFoundError
from .find_path_to_leaf import find_path_to_leaf
from .is_deleted import is_deleted
from .is_local_id import is_local_id
from .key_leafs import key_leafs
from .latest import latest
from .merge import MergeResult, merge
from .parse_rev import format_rev, parse_rev
from .path_revisions import path_revisions
from .possible_ancestors import find_missing, possible_ancestors
from .remove_leaf_from_tree import remove_leaf_from_tree
from .rev_exists import rev_exists
from .revisions_to_path import revisions_to_path
from .revs_info import revs_info
from .root_to_leaf import root_to_leaf
from .stem import stem
from .traverse_rev_tree import traverse_rev_tree
from .tree import Node, Opts, Path, Tree, clone_tree
from .winning_rev import winning_rev

__all__ = [
    "Conflicts",
    "MergeResult",
    "Node",
    "NotALeafError",
    "Opts",
    "Path",
    "RevNotFoundError",
    "Tree",
    "clone_tree",
    "collect_conflicts",
    "collect_deleted_conflicts",
    "collect_leaves",
    "compact_tree",
    "find_missing",
    "find_path_to_leaf",
    "format_rev",
    "is_deleted",
    "is_local_id",
    "key_leafs",
    "latest",
    "merge",
    "parse_rev",
    "path_revisions",
    "possible_ancestors",
    "remove_leaf_from_tree",
    "rev_exists",
    "revisions_to_path",
    "revs_info",
    "root_to_leaf",
    "stem",
    "traverse_rev_tree",
    "winning_rev",
]
