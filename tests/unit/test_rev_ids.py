"""Revision ids never change: a retried edit, or the same edit made on another device, must get the
same rev id from every version of the server. The id hashes the standard library's compact JSON of
[parent, deleted, body, sorted attachment digests]; `new_rev_hash` may be handed the body's part
of that text made beforehand (outside the write transaction) and must give the same id."""
from __future__ import annotations

import hashlib
import json
import random

from sync.docs import canonical_json, new_rev_hash


def _reference(parent, deleted, body, digests) -> str:
    text = json.dumps([parent, deleted, body, sorted(digests)], separators=(",", ":"), ensure_ascii=False)
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def _value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.randint(-10**12, 10**12)
    if kind == 3:
        return rng.choice([0.1, -2.5, 1e-7, 3.141592653589793, 1e21, 12.0])
    if kind in (4, 5):
        return "".join(rng.choice(["a", "Z", "调", "解", "\"", "\\", "\n", "\u2028", "😀", " "]) for _ in range(rng.randrange(12)))
    if kind in (6, 7):
        return {f"k{rng.randrange(50)}{rng.choice(['', '村', '_x'])}": _value(rng, depth + 1) for _ in range(rng.randrange(5))}
    return [_value(rng, depth + 1) for _ in range(rng.randrange(5))]


def test_a_body_text_made_beforehand_gives_the_same_rev_id():
    rng = random.Random(20261202)
    for _ in range(2000):
        body = {f"f{i}": _value(rng) for i in range(rng.randrange(6))}
        parent = rng.choice([None, "1-" + "a" * 32, "12-0123456789abcdef0123456789abcdef"])
        deleted = rng.random() < 0.2
        digests = rng.sample(["md5-abc=", "md5-xyz=", "md5-Q9==", "md5-0"], rng.randrange(4))
        expected = _reference(parent, deleted, body, digests)
        assert new_rev_hash(parent, deleted, body, digests) == expected
        assert new_rev_hash(parent, deleted, body, digests, canonical_json(body)) == expected


def test_a_known_edit_keeps_its_rev_id():
    # Values made by the server before the body's text could be made beforehand.
    body = {"type": "dispute", "area": "990101001001", "summary": "邻里纠纷", "parties": [{"name": "甲"}]}
    assert new_rev_hash(None, False, body, []) == "d70d634a7cbe7d84cc6440a36a5daf3b"
    assert new_rev_hash(None, False, body, [], canonical_json(body)) == "d70d634a7cbe7d84cc6440a36a5daf3b"
    assert new_rev_hash("1-967a00dff5e02add41819138abb3284d", True, {}, []) == "d9edbac457d460831132c6f5db21b83a"
