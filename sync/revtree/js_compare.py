"""String order as JavaScript's `<` sees it (UTF-16 code units).

PouchDB orders sibling branches and breaks winner ties with `<`. Python compares code points;
the two disagree only between astral characters and U+E000..U+FFFF, but the server must agree
with PouchDB on every tree, so non-ASCII strings are compared as UTF-16.
"""
from __future__ import annotations


def js_less(a: str, b: str) -> bool:
    if a.isascii() and b.isascii():
        return a < b
    return a.encode("utf-16-be", "surrogatepass") < b.encode("utf-16-be", "surrogatepass")
