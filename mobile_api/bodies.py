"""JSON request bodies, parsed on purpose: what the API accepts is JSON it can store and hand back.

The standard library's parser is used (it names where a syntax error is, and keeps every digit of a
number for us to judge), with what it lets through refused here:

    not UTF-8, or a lone surrogate   invalid_unicode: `"\\ud800"` is an escape the parser turns into
                                     half a UTF-16 pair, text Python holds but cannot encode, so it
                                     could be neither stored nor sent back; the problem names the field
    NaN, Infinity                    invalid_json: not JSON
    nested deeper than MAX_DEPTH     invalid_json: documents are shallow
    not an object                    invalid_json
    a number a phone cannot hold     invalid_body, naming the field: beyond a double (`1e400` would
                                     become infinity) or an integer beyond +-(2**53 - 1), which
                                     JavaScript (PouchDB on the phones) silently rounds

orjson would refuse the surrogate and the depth too, but turns a 41-digit integer into a float
without a word and names no field; so: one parse, then one walk of the parsed value (no recursion).
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

from schemas.errors import PaichaError
from sync.jsonio import is_unicode


MAX_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_KINDS = {list: ("an array", "数组"), str: ("a string", "字符串"), int: ("a number", "数字"),
          float: ("a number", "数字"), bool: ("true or false", "布尔值"), type(None): ("null", "null")}


class _Unheld:
    """A number kept as its text (the walk reports it with the field it is in)."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def _int(text: str):
    # Counting digits first: never `int()` of thousands of digits (slow, and refused beyond 4300).
    if len(text) - (text[0] == "-") > len(str(MAX_SAFE_INTEGER)):
        return _Unheld(text)
    value = int(text)
    return value if abs(value) <= MAX_SAFE_INTEGER else _Unheld(text)


def _float(text: str):
    value = float(text)
    return value if math.isfinite(value) else _Unheld(text)


def _constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def invalid_json(reason: str, reason_zh: str) -> PaichaError:
    return PaichaError("invalid_json", reason=reason, reason_zh=reason_zh)


def parse(raw: bytes) -> dict:
    """The request body as a JSON object, or an PaichaError (raised) saying what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_unicode(raw, exc) from None
    if text.startswith("\ufeff"):
        raise invalid_json("it starts with a byte order mark, which JSON does not allow",
                           "请求体以字节顺序标记（BOM）开头，JSON 不允许。")
    if not text.strip():
        raise invalid_json("it is empty", "请求体为空。")
    try:
        body = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise _too_deep() from None
    except json.JSONDecodeError as exc:
        raise invalid_json(f"it is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                           f"第 {exc.lineno} 行第 {exc.colno} 列附近有语法错误（{exc.msg}）。") from None
    except ValueError as exc:  # NaN / Infinity, or an integer of more than 4300 digits
        if "is not JSON" in str(exc):
            raise invalid_json("it holds NaN or Infinity, which are not JSON",
                               "NaN 和 Infinity 不是 JSON 的取值。") from None
        raise invalid_json("it holds a number with too many digits", "数字位数过多。") from None
    if not isinstance(body, dict):
        en, zh = _KINDS.get(type(body), ("a number", "数字"))
        raise invalid_json(f"it is {en}", f"收到的是{zh}。")
    _walk(body, surrogates=bool(_SURROGATE_ESCAPE.search(text)))
    return body


def _walk(body: dict, *, surrogates: bool) -> None:
    """Refuse what parsed but cannot be kept: too deep, a lone surrogate, a number a phone cannot hold."""
    unheld: list[str] = []
    stack: list[tuple[Any, tuple, int]] = [(body, (), 1)]
    while stack:
        value, path, depth = stack.pop()
        kind = type(value)
        if kind is dict or kind is list:
            if depth > MAX_DEPTH:
                raise _too_deep()
            items = value.items() if kind is dict else enumerate(value)
            for key, item in items:
                if surrogates and kind is dict and not is_unicode(key):
                    raise _lone_surrogate(path + (key,), key, is_key=True)
                stack.append((item, path + (key,), depth + 1))
        elif kind is str:
            if surrogates and not is_unicode(value):
                raise _lone_surrogate(path, value)
        elif kind is _Unheld:
            unheld.append(_number_problem(path, value.text))
    if unheld:
        unheld.sort()
        raise PaichaError("invalid_body", count=len(unheld), errors=unheld[:20])


def where(path: tuple) -> str:
    """A field's path as the document problems write it (`parties[0].name`); field names that are not
    valid Unicode shown with escapes, so the answer itself can be encoded."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part.encode("utf-8", "backslashreplace").decode("utf-8")
            out += f".{name}" if out else name
    return out


def _lone_surrogate(path: tuple, text: str, is_key: bool = False) -> PaichaError:
    char = next(c for c in text if "\ud800" <= c <= "\udfff")
    escaped = f"\\u{ord(char):04x}"
    field = where(path) or "body"
    if is_key:
        return PaichaError("invalid_unicode", field=field,
                          reason=f"the field name holds half a character (the lone UTF-16 surrogate {escaped}): "
                                 "it is not valid Unicode text",
                          reason_zh=f"字段名含有半个字符（不成对的 UTF-16 代理项 {escaped}），不是有效的 Unicode 文本。")
    return PaichaError("invalid_unicode", field=field,
                      reason=f"holds half a character (the lone UTF-16 surrogate {escaped}): "
                             "the text is not valid Unicode",
                      reason_zh=f"含有半个字符（不成对的 UTF-16 代理项 {escaped}），不是有效的 Unicode 文本。")


def _not_unicode(raw: bytes, exc: UnicodeDecodeError) -> PaichaError:
    try:
        raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return PaichaError("invalid_unicode", field="body",
                          reason=f"byte {exc.start} is not UTF-8: the text is not valid Unicode",
                          reason_zh=f"第 {exc.start} 个字节不是有效的 UTF-8，文本不是有效的 Unicode。")
    return PaichaError("invalid_unicode", field="body",
                      reason=f"byte {exc.start} starts half a character (a UTF-16 surrogate encoded as UTF-8): "
                             "the text is not valid Unicode",
                      reason_zh=f"第 {exc.start} 个字节起是半个字符（以 UTF-8 编码的代理项），不是有效的 Unicode 文本。")


def _too_deep() -> PaichaError:
    return invalid_json(f"it is nested more than {MAX_DEPTH} levels deep", f"嵌套超过 {MAX_DEPTH} 层。")


def _number_problem(path: tuple, text: str) -> str:
    shown = text if len(text) <= 24 else f"{text[:12]}...({len(text)} characters)"
    prefix = f"{where(path)}: " if path else ""
    if any(c in text for c in ".eE"):
        return f"{prefix}{shown} is too large a number (beyond a 64-bit float)"
    return (f"{prefix}{shown} is beyond the whole numbers a phone holds exactly "
            f"(-{MAX_SAFE_INTEGER} to {MAX_SAFE_INTEGER})")
