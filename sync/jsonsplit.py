"""Cut a batch body into its documents' own texts, when the body as a whole cannot be parsed.

A `_bulk_docs` body is judged document by document: one document nested too deep or holding a
number too large must not fail the others. The body is then scanned (strings skipped whole,
brackets counted, no recursion) for the array under `member` of the top-level object; each
element's text is parsed on its own by the caller. Only that slow path ever comes here.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|["\[\]{},:]', re.S)
_FIRST_ID = re.compile(rb'"_id"\s*:\s*("(?:[^"\\]|\\.)*")', re.S)


@dataclass(frozen=True)
class SplitBody:
    elements: list[bytes]  # each element's text, as received
    rest: bytes  # the top-level object with the array emptied: its other members


def split_member_array(raw: bytes, member: str) -> SplitBody | None:
    """The elements of `raw[member]` (an array in a top-level object) and the object's other
    members, or None when the body is not shaped so (then it is plain bad JSON)."""
    key = json.dumps(member).encode()
    depth, elements = 0, []
    expect_key = False
    array_open = element_start = None
    for match in _TOKEN.finditer(raw):
        token, start = match.group(), match.start()
        if token == b'"':
            return None  # a string that never ends
        if token in (b"{", b"["):
            depth += 1
            if depth == 1 and token != b"{":
                return None
            if depth == 2 and token == b"[" and expect_key:
                array_open, element_start = start, match.end()
            expect_key = False
        elif token in (b"}", b"]"):
            if depth == 2 and array_open is not None and token == b"]":
                _add(elements, raw[element_start:start])
                rest = raw[:array_open] + b"[]" + raw[start + 1:]
                return SplitBody(elements, rest)
            depth -= 1
            if depth < 0:
                return None
        elif token == b",":
            if depth == 2 and array_open is not None:
                _add(elements, raw[element_start:start])
                element_start = match.end()
        elif token == b":":
            pass
        elif depth == 1 and array_open is None:
            # A string at the top level: a member name when a colon follows it.
            expect_key = token == key and raw[match.end():].lstrip()[:1] == b":"
    return None


def _add(elements: list[bytes], text: bytes) -> None:
    text = text.strip()
    if text or elements:
        elements.append(text)


def first_id(text: bytes) -> str | None:
    """The first `_id` string in an element's text (a refused document's best-known id)."""
    found = _FIRST_ID.search(text)
    if not found:
        return None
    try:
        value = json.loads(found.group(1))
    except ValueError:
        return None
    return value if isinstance(value, str) else None
