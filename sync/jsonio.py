"""JSON in and out of the engine: orjson (a C codec, several times faster than the standard library
on documents), with the standard library taking over where orjson would not keep a value exactly.

What a client sends is either kept exactly or refused with a reason, never changed:
- integers beyond 64 bits: orjson reads them as floats (a 41-digit id would come back as 1e+41),
  so text holding a run of 20 digits is read by the standard library, which keeps them exact;
- lone UTF-16 surrogates (half of a character): orjson refuses them, the standard library reads
  them, and the document check refuses the document that holds one (`text_problem`);
- numbers too large for a double (`1e400`), NaN and Infinity: refused (CouchDB refuses them too);
- nesting too deep for the standard library: refused with that reason, not a RecursionError.

Stored text that needed the exact codec is written with a leading space, so that reading it back
(every pull reads bodies) needs no scan. Revision ids are not made here: they hash
`docs.canonical_json`, which never changes.
"""
from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

import orjson

# Digits map to "0", what may stand before a number (":,[", a minus, white space) to "d", anything
# else to "x": a number of 20 digits or more is then a plain substring. A run of digits inside a
# revision hash follows a hex letter or a quote, so hashes do not send a batch the slow way.
_NUMBER_SHAPES = bytes(
    0x30 if 0x30 <= b <= 0x39 else 0x64 if b in b":,[-\t\r\n " else 0x78 for b in range(256))
_LONG_NUMBER = b"d" + b"0" * 20  # 2**64 has 20 digits; orjson reads anything up to 19 exactly
_EXACT_MARK = " "
MAX_NESTING = 254  # arrays and objects within each other: as deep as orjson writes


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")  # CouchDB refuses NaN and Infinity too


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _exact_loads(data: str | bytes) -> Any:
    try:
        return json.loads(data, parse_constant=_no_constants, parse_float=_finite_float)
    except RecursionError:
        raise ValueError(f"JSON is nested deeper than {MAX_NESTING} levels") from None


def loads(data: str | bytes, *, lone_surrogates: bool = False) -> Any:
    """Parse JSON text a client sent; ValueError (its message a reason) when it is not JSON
    whose every value can be kept exactly. `lone_surrogates=True` lets text holding half a
    character through, for a caller that judges each part on its own (a batch of documents)."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    if raw.translate(_NUMBER_SHAPES).find(_LONG_NUMBER) < 0:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # the standard library reads what orjson refuses, or says why it is not JSON
    value = _exact_loads(raw)
    if not lone_surrogates:
        problem = text_problem(value)
        if problem:
            raise ValueError(problem.message)
    return value


class TextProblem(NamedTuple):
    """Why a value cannot be kept as sent: `message` says so in a sentence."""
    message: str
    half_character: bool  # else: nested too deep


def text_problem(value: Any) -> TextProblem | None:
    """Why a parsed value cannot be stored and sent on as it is (text holding half a character,
    nesting deeper than MAX_NESTING), or None. A loop, not recursion: the value may be deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not is_unicode(item):
                return TextProblem(f"the text {_shown(item)} is not valid Unicode (it holds half of a character)", True)
        elif isinstance(item, dict):
            if depth > MAX_NESTING:
                return TextProblem(f"JSON is nested deeper than {MAX_NESTING} levels", False)
            for key, member in item.items():
                if not is_unicode(key):
                    return TextProblem(f"the member name {_shown(key)} is not valid Unicode "
                                       "(it holds half of a character)", True)
                stack.append((member, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_NESTING:
                return TextProblem(f"JSON is nested deeper than {MAX_NESTING} levels", False)
            stack.extend((member, depth + 1) for member in item)
    return None


def is_unicode(text: str) -> bool:
    """False when `text` holds a lone UTF-16 surrogate (half of a character)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(text: str) -> str:
    return json.dumps(text[:40])  # escapes the lone surrogate, so the reason itself is valid text


def loads_stored(text: str | bytes) -> Any:
    """Parse text `dumps_stored` wrote (stored bodies)."""
    if text[:1] in (_EXACT_MARK, b" "):
        return _exact_loads(text)
    return orjson.loads(text)


def dumpb(value: Any) -> bytes:
    """Compact JSON as UTF-8 bytes, non-ASCII characters kept as they are (but for half a
    character, echoed back to its sender as a \\u escape: the only way JSON can carry it)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        text = _exact_dumps(value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("ascii")


def _exact_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumpt(value: Any) -> str:
    """`dumpb` as text."""
    return dumpb(value).decode("utf-8")


def dumps_stored(value: Any) -> str:
    """Text to store (bodies and trees): `loads_stored` reads it back exactly."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return _EXACT_MARK + _exact_dumps(value)
