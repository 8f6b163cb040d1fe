"""JSON in and out of the engine: orjson (a C codec, several times faster than the standard library
on documents), with the standard library taking over for what orjson refuses (integers beyond
64 bits). Revision ids are not made here: they hash `docs.canonical_json`, which never changes.
"""
from __future__ import annotations

import json
from typing import Any

import orjson


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")  # CouchDB refuses NaN and Infinity too


def loads(data: str | bytes) -> Any:
    """Parse JSON text; raises ValueError when it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data, parse_constant=_no_constants)


def dumpb(value: Any) -> bytes:
    """Compact JSON as UTF-8 bytes, non-ASCII characters kept as they are."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def dumps(value: Any) -> str:
    """`dumpb` as text (stored bodies and trees)."""
    return dumpb(value).decode("utf-8")
