"""Reads of the visit checks (`visit_checks`, `geo_households`, `geo_villages`) for supervisors: one
row per visit, per-village coverage, the flagged visits and the points of the map. Each takes the
area prefix to read under (already checked against the reader's scope by the caller) and a window
of visit times (since inclusive, until exclusive, aware datetimes)."""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import sqlalchemy as sa

from schemas.areas import VILLAGE

from server.core.clock import SHANGHAI
from server.core.models import Area, as_utc
from server.services.geo.checks import FLAGS
from server.services.geo.tables import geo_households, geo_villages, visit_checks

MAX_VILLAGES = 20000


def _iso(moment: dt.datetime | None) -> str | None:
    moment = as_utc(moment)
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds") if moment else None


def local_minute(moment: dt.datetime | None) -> str:
    """A stored UTC time as YYYY-MM-DD HH:MM in Asia/Shanghai."""
    moment = as_utc(moment)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


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
    """Visit checks under an area prefix, newest visit first."""
    c = visit_checks.c
    stmt = _period(sa.select(visit_checks).where(c.area.startswith(area)), since, until)
    if flag:
        stmt = stmt.where(c.flags.contains(json.dumps(flag), autoescape=True))
    if visitor:
        stmt = stmt.where(c.visitor == visitor)
    stmt = stmt.order_by(c.visited_at.desc(), c.visit_id).limit(limit)
    return [visit_row(r) for r in conn.execute(stmt)]


def flagged_visits(conn: sa.Connection, area: str, since: dt.datetime, until: dt.datetime,
                   limit: int = 50) -> list[dict]:
    """The newest visits with any flag."""
    c = visit_checks.c
    stmt = (_period(sa.select(visit_checks).where(c.area.startswith(area), c.flags != "[]"), since, until)
            .order_by(c.visited_at.desc(), c.visit_id).limit(limit))
    return [visit_row(r) for r in conn.execute(stmt)]


def coverage(conn: sa.Connection, area: str = "", *, since: dt.datetime | None = None,
             until: dt.datetime | None = None) -> list[dict]:
    """Per village under `area`: registered households, households visited and visits in the
    period, visits with any flag and the count of each flag. Villages come from the areas table and
    from the data, so a village with households but no visits shows with zeros."""
    areas = Area.__table__
    villages = dict(conn.execute(sa.select(areas.c.code, areas.c.name).where(
        areas.c.code.startswith(area), areas.c.level == VILLAGE)).all())
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


def map_data(conn: sa.Connection, area: str, since: dt.datetime, until: dt.datetime, limit: int = 2000) -> dict:
    """The newest `limit` visit fixes in the window (only what the map draws) and the villages."""
    c = visit_checks.c
    stmt = (_period(sa.select(c.visit_id, c.visitor, c.visited_at, c.lat, c.lon, c.flags)
                    .where(c.area.startswith(area)), since, until)
            .order_by(c.visited_at.desc(), c.visit_id).limit(limit))
    points = [{"visit_id": v.visit_id, "visitor": v.visitor, "visited_at": local_minute(v.visited_at),
               "wgs84": {"lat": v.lat, "lon": v.lon} if v.lat is not None else None,
               "flags": json.loads(v.flags)} for v in conn.execute(stmt)]
    villages = conn.execute(sa.select(geo_villages.c.code, geo_villages.c.name, geo_villages.c.centre_lat,
                                      geo_villages.c.centre_lon, geo_villages.c.boundary)
                            .where(geo_villages.c.code.startswith(area))
                            .order_by(geo_villages.c.code).limit(MAX_VILLAGES)).all()
    return {"visits": points, "villages": [
        {"code": v.code, "name": v.name, "centre": (v.centre_lat, v.centre_lon) if v.centre_lat is not None else None,
         "boundary": json.loads(v.boundary) if v.boundary else None} for v in villages]}
