"""Small pure helpers for assertions: CouchDB's winning-revision rule, digests, random payloads."""
from __future__ import annotations

import base64
import hashlib
import os
from collections import Counter


def rev_key(rev: str) -> tuple[int, str]:
    pos, _, rid = rev.partition("-")
    return int(pos), rid


def winning_rev(leaves: list[tuple[str, bool]]) -> str:
    """CouchDB's deterministic winner among leaf revisions [(rev, deleted)]: a live leaf beats a
    deleted one; then the higher position; then the higher rev id (compared as strings)."""
    return max(leaves, key=lambda leaf: (not leaf[1],) + rev_key(leaf[0]))[0]


def md5_digest(data: bytes) -> str:
    """The attachment digest CouchDB and PouchDB give: "md5-" + base64(md5(bytes))."""
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def random_bytes(size: int, seed: bytes | None = None) -> bytes:
    """Random-looking incompressible bytes (reproducible when seeded)."""
    if seed is None:
        return os.urandom(size)
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def duplicates(items) -> dict:
    """{item: count} for items that occur more than once."""
    return {k: n for k, n in Counter(items).items() if n > 1}
