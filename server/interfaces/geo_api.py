"""Visit checks for the supervisors' ledger: queries, and a small JSON API over them.

    GET /_geo/visits?area=&flag=&visitor=&since=&until=&limit=   one row per visit, newest first
    GET /_geo/coverage?area=&since=&until=                      per village: households, visited, flags

`area` defaults to the caller's scope and must lie within it; since/until are dates (YYYY-MM-DD,
Asia/Shanghai days, both inclusive) or timestamps with an offset, applied to visited_at. Open to
township staff, district supervisors and administrators.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import sqlalchemy as sa
from flask import Blueprint, request

from sync import errors
from sync.http import couch_json

from schemas._formats import FIRST_YEAR, LAST_YEAR, OUT_OF_RANGE

from server.services.geo.checks import FLAGS, parse_time, time_problem
from server.services.geo.tables import geo_households, visit_checks
from server.services.geo.visits import as_utc

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
LEDGER_ROLES = ("township_staff", "district_supervisor", "admin")
DEFAULT_LIMIT, MAX_LIMIT = 500, 5000


def _iso(moment: dt.datetime | None) -> str | None:
    moment = as_utc(moment)
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds") if moment else None


def _rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def visit_row(row) -> dict:
    return {
        "visit_id": row.visit_id, "rev": row.rev, "area": row.area, "visitor": row.visitor,
        "household_id": row.household_id, "visited_at": _iso(row.visited_at), "fix_time": _iso(row.fix_time),
        "fix": ({"lat": row.orig_lat, "lon": row.orig_lon, "crs": row.orig_crs}
                if row.orig_lat is not None else None),
        "wgs84": {"lat": row.lat, "lon": row.lon} if row.lat is not None else None,
        "accuracy_m": row.accuracy_m,
        "household_location": ({"lat": row.household_lat, "lon": row.household_lon,
                                "source": row.household_location_source}
                               if row.household_lat is not None else None),
        "distance_m": _rounded(row.distance_m), "radius_m": _rounded(row.radius_m),
        "speed_kmh": _rounded(row.speed_kmh), "speed_with": row.speed_with,
        "village_found": row.village_found, "locate_method": row.locate_method,
        "photo_count": row.photo_count, "flags": json.loads(row.flags), "computed_at": _iso(row.computed_at),
    }


def _period(stmt, since: dt.datetime | None, until: dt.datetime | None):
    if since is not None:
        stmt = stmt.where(visit_checks.c.visited_at >= since)
    if until is not None:
        stmt = stmt.where(visit_checks.c.visited_at < until)
    return stmt


def visits(conn: sa.Connection, area: str = "", *, flag: str | None = None, visitor: str | None = None,
           since: dt.datetime | None = None, until: dt.datetime | None = None, limit: int = 500) -> list[dict]:
    """Visit checks under an area prefix, newest visit first. since inclusive, until exclusive."""
    c = visit_checks.c
    stmt = _period(sa.select(visit_checks).where(c.area.startswith(area)), since, until)
    if flag:
        stmt = stmt.where(c.flags.contains(json.dumps(flag), autoescape=True))
    if visitor:
        stmt = stmt.where(c.visitor == visitor)
    stmt = stmt.order_by(c.visited_at.desc(), c.visit_id).limit(limit)
    return [visit_row(r) for r in conn.execute(stmt)]


def coverage(conn: sa.Connection, area: str = "", *, since: dt.datetime | None = None,
             until: dt.datetime | None = None) -> list[dict]:
    """Per village under `area`: registered households, households visited and visits in the
    period, visits with any flag and the count of each flag. Villages come from the areas table and
    from the data, so a village with households but no visits shows with zeros."""
    from server.core.models import Area

    villages = dict(conn.execute(sa.select(Area.__table__.c.code, Area.__table__.c.name).where(
        Area.__table__.c.code.startswith(area), Area.__table__.c.level == "village")).all())
    households = dict(conn.execute(
        sa.select(geo_households.c.area, sa.func.count()).where(geo_households.c.area.startswith(area))
        .group_by(geo_households.c.area)).all())
    located = dict(conn.execute(
        sa.select(geo_households.c.area, sa.func.count()).where(
            geo_households.c.area.startswith(area), geo_households.c.lat.is_not(None))
        .group_by(geo_households.c.area)).all())
    rows = conn.execute(_period(sa.select(visit_checks.c.area, visit_checks.c.household_id, visit_checks.c.flags)
                                .where(visit_checks.c.area.startswith(area)), since, until)).all()
    per: dict[str, dict] = {}
    for code in sorted(set(villages) | set(households) | {r.area for r in rows}):
        per[code] = {"area": code, "name": villages.get(code), "households": households.get(code, 0),
                     "households_located": located.get(code, 0), "households_visited": 0, "visits": 0,
                     "visits_flagged": 0, "flags": {f: 0 for f in FLAGS}, "_visited": set()}
    for r in rows:
        entry = per[r.area]
        entry["visits"] += 1
        if r.household_id:
            entry["_visited"].add(r.household_id)
        flags = json.loads(r.flags)
        if flags:
            entry["visits_flagged"] += 1
        for f, n in Counter(flags).items():
            entry["flags"][f] = entry["flags"].get(f, 0) + n
    for entry in per.values():
        entry["households_visited"] = len(entry.pop("_visited"))
    return list(per.values())


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
    if principal.role not in LEDGER_ROLES:
        raise errors.Forbidden("Visit checks are for township staff, district supervisors and administrators.")
    scope = principal.scope or ""
    area = request.args.get("area") or scope
    if area and not (area.isascii() and area.isdigit() and len(area) <= 12):
        raise errors.BadRequest("area must be an area code (6, 9 or 12 digits)")
    if area.startswith(scope):
        return area
    raise errors.Forbidden("That area is outside your scope.")


def blueprint() -> Blueprint:
    from server.core.auth import require_principal
    from server.core.db import db
    from sync.http import error_response

    bp = Blueprint("geo_ledger", __name__, url_prefix="/_geo")

    @bp.errorhandler(errors.CouchError)
    def _error(exc):
        return error_response(exc)

    @bp.get("/visits")
    def list_visits():
        area = _area_for(require_principal())
        flag, visitor, limit = _text("flag"), _text("visitor"), _limit()
        with db.engine.connect() as conn:
            rows = visits(conn, area, flag=flag, visitor=visitor,
                          since=_moment("since", False), until=_moment("until", True), limit=limit)
        return couch_json({"area": area, "visits": rows})

    @bp.get("/coverage")
    def get_coverage():
        area = _area_for(require_principal())
        with db.engine.connect() as conn:
            rows = coverage(conn, area, since=_moment("since", False), until=_moment("until", True))
        return couch_json({"area": area, "villages": rows})

    return bp
