"""Visit checks for the supervisors: a small JSON API over `server.services.geo.queries`.

    GET /_geo/visits?area=&flag=&visitor=&since=&until=&limit=   one row per visit, newest first
    GET /_geo/coverage?area=&since=&until=                      per village: households, visited, flags

`area` defaults to the caller's scope and must lie within it; since/until are dates (YYYY-MM-DD,
Asia/Shanghai days, both inclusive) or timestamps with an offset, applied to visited_at. Open to
township staff, district supervisors and administrators.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Flask, request

from sync import errors
from sync.http import couch_json

from schemas._formats import FIRST_YEAR, LAST_YEAR, OUT_OF_RANGE
from schemas.areas import is_area_code
from schemas.rules import SUPERVISOR_ROLES

from server.core.auth import require_principal
from server.core.clock import SHANGHAI
from server.core.db import reading
from server.services.geo.checks import parse_time, time_problem
from server.services.geo.queries import coverage, visits

DEFAULT_LIMIT, MAX_LIMIT = 500, 5000


# -- HTTP ------------------------------------------------------------------------------------------------

def _moment(name: str, end: bool) -> dt.datetime | None:
    """`since` / `until`: a day (Asia/Shanghai; `until` counts to the day's end) or a timestamp with
    an offset, in the years 1900 to 2100 (beyond them datetime overflows turning the bounds into UTC)."""
    value = request.args.get(name)
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value) if len(value) == 10 and value.isascii() else None
    except ValueError:
        day = None
    if day is not None:
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise errors.BadRequest(f"{name} is {OUT_OF_RANGE}")
        start = dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time(), SHANGHAI)
        return start.astimezone(dt.timezone.utc)
    reason = time_problem(value, name)
    if reason is not None:
        raise errors.BadRequest(f"{name} is {OUT_OF_RANGE}" if reason.endswith(OUT_OF_RANGE)
                                else f"{name} must be a date (YYYY-MM-DD) or a timestamp with an offset")
    return parse_time(value)


def _limit() -> int:
    """`limit`: a whole number (of at most 64 bits), kept to 1..MAX_LIMIT."""
    value = request.args.get("limit") or str(DEFAULT_LIMIT)
    digits = value[1:] if value[:1] in "+-" else value
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 19 and -2**63 <= int(value) < 2**63):
        raise errors.BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return min(max(int(value), 1), MAX_LIMIT)


def _text(name: str, max_length: int = 100) -> str | None:
    """A free-text filter: printable, bounded (a NUL is not text, and PostgreSQL refuses it)."""
    value = request.args.get(name) or None
    if value is not None and (len(value) > max_length or not value.isprintable()):
        raise errors.BadRequest(f"{name} must be at most {max_length} printable characters")
    return value


def _area_for(principal) -> str:
    if principal.role not in SUPERVISOR_ROLES:
        raise errors.Forbidden("Visit checks are for township staff, district supervisors and administrators.")
    scope = principal.scope or ""
    area = request.args.get("area") or scope
    if area and not is_area_code(area):
        raise errors.BadRequest("area must be an area code (6, 9 or 12 digits)")
    if area.startswith(scope):
        return area
    raise errors.Forbidden("That area is outside your scope.")


def blueprint() -> Blueprint:
    bp = Blueprint("geo_ledger", __name__, url_prefix="/_geo")

    @bp.get("/visits")
    def list_visits():
        area = _area_for(require_principal())
        flag, visitor, limit = _text("flag"), _text("visitor"), _limit()
        with reading() as conn:
            rows = visits(conn, area, flag=flag, visitor=visitor,
                          since=_moment("since", False), until=_moment("until", True), limit=limit)
        return couch_json({"area": area, "visits": rows})

    @bp.get("/coverage")
    def get_coverage():
        area = _area_for(require_principal())
        with reading() as conn:
            rows = coverage(conn, area, since=_moment("since", False), until=_moment("until", True))
        return couch_json({"area": area, "villages": rows})

    return bp


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint())
