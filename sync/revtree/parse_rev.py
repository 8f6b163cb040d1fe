"""Parsing "{pos}-{hash}" revision strings."""
from __future__ import annotations

import re

# ASCII digits only: int() alone would also take "+1", " 1", "1_0" and non-ASCII digits.
# The hash may be empty: "1-" is a revision to CouchDB (couch_doc:parse_rev) and to PouchDB.
_REV = re.compile(r"([0-9]+)-(.*)", re.DOTALL)


def parse_rev(rev: object) -> tuple[int, str]:
    """`"3-abc"` -> `(3, "abc")`. Splits at the first dash, so hashes may contain dashes.

    Raises ValueError unless pos is a positive integer (the hash may be empty); anything that
    is not a str is also a ValueError, so HTTP handlers can catch one type for bad input.
    """
    if not isinstance(rev, str):
        raise ValueError(f"Invalid rev format: {rev!r}")
    match = _REV.fullmatch(rev)
    if match is None:
        raise ValueError(f"Invalid rev format: {rev!r}")
    pos = int(match.group(1))
    if pos < 1:
        raise ValueError(f"Invalid rev format: {rev!r} (pos must be positive)")
    return pos, match.group(2)


def format_rev(pos: int, rev_hash: str) -> str:
    return f"{pos}-{rev_hash}"
