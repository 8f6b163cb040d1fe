"""What every route needs first: who is calling, and the request's inputs.

Each helper raises a catalogued problem instead of returning an error, so a route reads as
load -> authorize -> act.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass

from flask import current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from schemas.areas import is_area_code
from schemas.errors import PaichaError
from server.services import tokens
from server.core import clock
from server.core.access import DEVICE_HEADER
from server.core.auth import Principal, TooManyAttempts, current_principal
from sync import errors

from mobile_api import bodies
from mobile_api.payloads import valid_doc_id

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_JSON_BYTES = 1024 * 1024
_CURSOR = re.compile(r"^[A-Za-z0-9_-]{2,400}$")
_WHOLE = re.compile(r"-?[0-9]+")


def now() -> dt.datetime:
    return clock.now()


def principal() -> Principal:
    """The caller (bearer token, Basic or the AuthSession cookie, as server.core.auth reads them
    for every interface), or 401."""
    try:
        who = current_principal()
    except errors.InvalidToken:
        raise PaichaError("invalid_token") from None
    except TooManyAttempts:
        raise PaichaError("too_many_attempts") from None
    except errors.Unauthorized:
        raise PaichaError("invalid_credentials") from None
    except errors.CouchError:
        raise PaichaError("unauthorized") from None
    if who is None:
        raise PaichaError("unauthorized")
    record = token_record()
    if record is not None and record.device_id and DEVICE_HEADER not in request.headers:
        # The audit trail names the device a write came from (server.core.access reads the header).
        request.environ["HTTP_" + DEVICE_HEADER.upper().replace("-", "_")] = record.device_id
    return who


def token_record() -> tokens.TokenRecord | None:
    """The stored record of the bearer token this request came with (None for Basic or the cookie)."""
    return g.get("api_token")


def bearer() -> str | None:
    """The bearer token this request came with (None for Basic or the cookie)."""
    return g.get("bearer")


def json_body(optional: bool = False) -> dict:
    """The request's JSON object (`optional`: an empty body is {})."""
    if optional and not request.content_length and not request.mimetype:
        return {}
    if request.mimetype != "application/json":
        raise PaichaError("unsupported_media_type", expected="application/json")
    limit = current_app.config.get("PAICHA_API_MAX_JSON_BYTES", MAX_JSON_BYTES)
    if request.content_length is not None and request.content_length > limit:
        raise PaichaError("body_too_large", limit=limit)
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise PaichaError("body_too_large", limit=current_app.config.get("MAX_CONTENT_LENGTH")) from None
    if len(raw) > limit:
        raise PaichaError("body_too_large", limit=limit)
    # Not request.get_json(): that accepts lone surrogates, NaN and numbers no phone can hold.
    return bodies.parse(raw)


def query_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _WHOLE.fullmatch(raw):  # not int() alone: it takes " 5", "1_0" and "١٢"
        raise PaichaError("invalid_parameter", name=name, reason=f"not a whole number: {raw[:40]!r}")
    value = int(raw) if len(raw) <= 20 else None  # beyond 64 bits is out of range anyway
    if value is None or not low <= value <= high:
        raise PaichaError("invalid_parameter", name=name, reason=f"must be between {low} and {high}")
    return value


def limit() -> int:
    return query_int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)


def encode_cursor(after: str | None) -> str | None:
    return None if after is None else base64.urlsafe_b64encode(after.encode("utf-8")).decode("ascii").rstrip("=")


def cursor() -> str | None:
    raw = request.args.get("cursor")
    if raw is None:
        return None
    try:
        if not _CURSOR.match(raw):
            raise ValueError(raw)
        after = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        after = ""
    if not valid_doc_id(after):
        raise PaichaError("invalid_parameter", name="cursor", reason="not a cursor this API returned")
    return after


def text_param(name: str, max_length: int = 100) -> str | None:
    """A free-text query parameter: printable, bounded."""
    value = request.args.get(name)
    if value is None:
        return None
    if len(value) > max_length or not value.isprintable():
        raise PaichaError("invalid_parameter", name=name,
                         reason=f"at most {max_length} printable characters")
    return value


def area_filter(who: Principal) -> str | None:
    """The `area` query parameter, narrowed to the caller's scope: an area inside the scope filters
    by it, an area containing the scope changes nothing, any other area is 403 out_of_scope."""
    area = request.args.get("area")
    if area is None:
        return None
    if not is_area_code(area):
        raise PaichaError("invalid_parameter", name="area", reason="not a 6, 9 or 12-digit area code")
    if area.startswith(who.scope):
        return area
    if who.scope.startswith(area):
        return None
    raise PaichaError("out_of_scope", area=area, scope=who.scope)
