"""A read model (`server.core.projections`): keeps `visit_checks` (and the household index) in step
with the documents.

It runs inside the transaction of every accepted write to the domain database, so a visit and its
check commit together. For each written document it looks at the document's *winning* revision (a
replicated losing conflict branch changes nothing; a deletion removes the rows):

- `household`: (re)index its location in WGS-84; if the location changed, recheck its visits;
- `household_visit`: compute distance and flags and upsert its `visit_checks` row, then refresh the
  impossible_speed flag of the visitor's fixes just before and after it (old and new position in
  time: an edit can move a fix in time).

Nothing is written into the documents themselves.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Iterable

import sqlalchemy as sa

from schemas.areas import LENGTH, VILLAGE
from sync.tables import databases, documents, revisions

from server.core import clock
from server.core.models import as_utc
from server.core.projections import DocumentState, Projection

from server.services.geo import checks, locate
from server.services.geo.checks import Place, Position
from server.services.geo.settings import Thresholds
from server.services.geo.tables import geo_households, visit_checks

log = logging.getLogger(__name__)

HOUSEHOLD = "household"
VISIT = "household_visit"
INVALID_FIX = "invalid_fix"  # a fix the write rules should have refused (e.g. written before they existed)
CHECK_ERROR = "check_error"  # the check itself failed; see the server log




# -- the hook -------------------------------------------------------------------------------------------

def db_id_of(conn: sa.Connection, db_name: str) -> int | None:
    return conn.execute(sa.select(databases.c.id).where(databases.c.name == db_name)).scalar()


def lock_domain(conn: sa.Connection, db_name: str) -> int | None:
    """For work outside a document write (recheck, geocoding): take the database's counter row lock
    that every writer takes before its hooks run, so this work and the write hook never interleave
    on PostgreSQL. (SQLite: the store's BEGIN IMMEDIATE already serializes writers.)"""
    return conn.execute(sa.select(databases.c.id).where(databases.c.name == db_name).with_for_update()).scalar()


def _body(conn: sa.Connection, db_id: int, doc_id: str, rev: str) -> dict | None:
    text = conn.execute(sa.select(revisions.c.body).where(
        revisions.c.db_id == db_id, revisions.c.doc_id == doc_id, revisions.c.rev == rev)).scalar()
    return json.loads(text) if text is not None else None


def project(conn: sa.Connection, db_name: str, states: Iterable[DocumentState], t: Thresholds) -> None:
    """Bring the geotagging tables up to date with these documents (inside their write's transaction)."""
    # Disputes, reports...: nothing to do. A deleted document may be one of ours.
    ours = [s for s in states if s.deleted or s.type in (HOUSEHOLD, VISIT) or s.written_type in (HOUSEHOLD, VISIT)]
    if not ours:
        return
    now = clock.now()
    moved_households: set[str] = set()
    for state in ours:  # households first: a batch may hold both
        if state.deleted:
            if remove_household(conn, state.doc_id):
                moved_households.add(state.doc_id)
        elif state.type == HOUSEHOLD and index_household(conn, state.doc_id, state.rev, state.body, now):
            moved_households.add(state.doc_id)
    done: set[str] = set()
    for state in ours:
        if state.deleted:
            remove_visit(conn, state.doc_id, t)
        elif state.type == VISIT:
            check_visit(conn, state.doc_id, state.rev, state.seq, state.body, t, now)
            done.add(state.doc_id)
    if moved_households:
        db_id = db_id_of(conn, db_name)
        for household_id in sorted(moved_households):
            recheck_household_visits(conn, db_id, household_id, t, now, skip=done)


def projection(app) -> Projection:
    """The visit checks as a read model (`server.core.projections.register_projection`)."""
    def geotag_visits(conn: sa.Connection, db_name: str, states: list[DocumentState]) -> None:
        project(conn, db_name, states, Thresholds.from_config(app.config))

    return geotag_visits


# -- households -----------------------------------------------------------------------------------------

def _area(body: dict) -> str:
    """The document's area, as the tables keep it (a village's code at most)."""
    return str(body.get("area") or "")[:LENGTH[VILLAGE]]


def household_place(conn: sa.Connection, household_id: str | None) -> Place | None:
    if not household_id:
        return None
    row = conn.execute(sa.select(geo_households.c.lat, geo_households.c.lon, geo_households.c.location_source)
                       .where(geo_households.c.doc_id == household_id)).first()
    if row is None or row.lat is None:
        return None
    return Place(row.lat, row.lon, row.location_source or "registry")


def index_household(conn: sa.Connection, doc_id: str, rev: str, body: dict, now: dt.datetime) -> bool:
    """Upsert the household's index row; True if its WGS-84 location changed (visits to recheck).
    A household without a location in its document keeps a geocoded one."""
    old = conn.execute(sa.select(geo_households).where(geo_households.c.doc_id == doc_id)).first()
    values = {"rev": rev, "area": _area(body), "address": str(body.get("address") or ""),
              "updated_at": now, "orig_lat": None, "orig_lon": None, "orig_crs": None,
              "lat": None, "lon": None, "location_source": None}
    location = body.get("location")
    if location is not None and checks.validate_location(location) is None:
        lat, lon = float(location["lat"]), float(location["lon"])
        w_lat, w_lon = checks.crs_mod.to_wgs84(lat, lon, location["crs"])
        values.update(orig_lat=lat, orig_lon=lon, orig_crs=location["crs"], lat=w_lat, lon=w_lon,
                      location_source="registry")
    elif old is not None and old.location_source == "geocoder":
        values.update(lat=old.lat, lon=old.lon, location_source="geocoder")
    if old is None:
        conn.execute(geo_households.insert().values(doc_id=doc_id, **values))
        return values["lat"] is not None
    conn.execute(geo_households.update().where(geo_households.c.doc_id == doc_id).values(**values))
    return (old.lat, old.lon) != (values["lat"], values["lon"])


def remove_household(conn: sa.Connection, doc_id: str) -> bool:
    """Forget a deleted household; True if it had a location (its visits lose their distance)."""
    old = conn.execute(sa.select(geo_households.c.lat).where(geo_households.c.doc_id == doc_id)).first()
    if old is None:
        return False
    conn.execute(geo_households.delete().where(geo_households.c.doc_id == doc_id))
    return old.lat is not None


def set_geocoded_location(conn: sa.Connection, db_name: str, doc_id: str, lat: float, lon: float,
                          t: Thresholds) -> bool:
    """Give an unlocated household a geocoded WGS-84 location and recheck its visits."""
    db_id = lock_domain(conn, db_name)
    result = conn.execute(geo_households.update().where(
        geo_households.c.doc_id == doc_id, geo_households.c.lat.is_(None)
    ).values(lat=lat, lon=lon, location_source="geocoder", updated_at=clock.now()))
    if result.rowcount:
        recheck_household_visits(conn, db_id, doc_id, t, clock.now())
    return bool(result.rowcount)


def recheck_household_visits(conn: sa.Connection, db_id: int, household_id: str, t: Thresholds,
                             now: dt.datetime, skip: set[str] = frozenset()) -> None:
    rows = conn.execute(sa.select(visit_checks.c.visit_id, visit_checks.c.rev, visit_checks.c.seq)
                        .where(visit_checks.c.household_id == household_id)).all()
    for row in rows:
        if row.visit_id in skip:
            continue
        body = _body(conn, db_id, row.visit_id, row.rev)
        if body is not None:
            check_visit(conn, row.visit_id, row.rev, row.seq, body, t, now)


# -- visits -----------------------------------------------------------------------------------------------

def assess_visit(conn: sa.Connection, body: dict, t: Thresholds) -> dict:
    """The visit_checks values (all but id, rev, seq, speed and computed_at) for a visit document."""
    area = _area(body)
    values = {
        "area": area,
        "visitor": str(body.get("visitor") or body.get("created_by") or "")[:100],
        "household_id": body.get("household_id") if isinstance(body.get("household_id"), str) else None,
        "visited_at": checks.parse_time(body.get("visited_at")),
        "photo_count": len(body.get("_attachments") or {}),
        "fix_time": None, "orig_lat": None, "orig_lon": None, "orig_crs": None, "lat": None, "lon": None,
        "accuracy_m": None, "household_lat": None, "household_lon": None, "household_location_source": None,
        "distance_m": None, "radius_m": None, "village_found": None, "locate_method": None,
    }
    flags: list[str] = []
    try:
        fix = checks.parse_fix(body.get("fix"))
    except ValueError:
        fix = None
        flags.append(INVALID_FIX)
    household = household_place(conn, values["household_id"])
    if household is not None:
        values.update(household_lat=household.lat, household_lon=household.lon,
                      household_location_source=household.source)
    if fix is None and not flags:
        flags.extend(checks.check_site(None, household, t).flags)
    elif fix is not None:
        site = checks.check_site(fix, household, t)
        flags.extend(site.flags)
        values.update(fix_time=fix.time or values["visited_at"], orig_lat=fix.lat, orig_lon=fix.lon,
                      orig_crs=fix.crs, lat=fix.wgs_lat, lon=fix.wgs_lon, accuracy_m=fix.accuracy_m,
                      distance_m=site.distance_m, radius_m=site.radius_m)
        found = locate.locate(conn, fix.wgs_lat, fix.wgs_lon, t.centre_max_m)
        values.update(village_found=found.code, locate_method=found.method)
        if area and checks.outside_area(
            area,
            distance_outside_m=locate.distance_outside_area_m(conn, area, fix.wgs_lat, fix.wgs_lon),
            located_code=found.code,
            district_has_geography=locate.district_has_geography(conn, area),
            accuracy_m=fix.accuracy_m, t=t,
        ):
            flags.append(checks.OUTSIDE_AREA)
    values["flags"] = flags
    return values


def _neighbours(conn: sa.Connection, visitor: str, moment: dt.datetime, visit_id: str) -> list[str]:
    """The visitor's fixes just before and just after (moment, visit_id) in time."""
    c = visit_checks.c
    base = sa.select(c.visit_id).where(c.visitor == visitor, c.fix_time.is_not(None), c.lat.is_not(None))
    before = conn.execute(base.where(sa.or_(c.fix_time < moment, sa.and_(c.fix_time == moment, c.visit_id < visit_id)))
                          .order_by(c.fix_time.desc(), c.visit_id.desc()).limit(1)).scalar()
    after = conn.execute(base.where(sa.or_(c.fix_time > moment, sa.and_(c.fix_time == moment, c.visit_id > visit_id)))
                         .order_by(c.fix_time.asc(), c.visit_id.asc()).limit(1)).scalar()
    return [v for v in (before, after) if v is not None]


def _position(row) -> Position:
    return Position(row.lat, row.lon, row.accuracy_m, as_utc(row.fix_time))


def refresh_speed(conn: sa.Connection, visit_ids: Iterable[str], t: Thresholds) -> None:
    """Recompute speed_kmh and the impossible_speed flag of these visits from their neighbours."""
    c = visit_checks.c
    for visit_id in dict.fromkeys(visit_ids):
        row = conn.execute(sa.select(visit_checks).where(c.visit_id == visit_id)).first()
        if row is None:
            continue
        flags = [f for f in json.loads(row.flags) if f != checks.IMPOSSIBLE_SPEED]
        speed, other = None, None
        if row.fix_time is not None and row.lat is not None:
            me = _position(row)
            for other_id in _neighbours(conn, row.visitor, as_utc(row.fix_time), visit_id):
                other_row = conn.execute(sa.select(visit_checks).where(c.visit_id == other_id)).first()
                kmh, impossible = checks.travel(me, _position(other_row), t)
                if speed is None or kmh > speed:
                    speed, other = kmh, other_id
                if impossible:
                    flags.append(checks.IMPOSSIBLE_SPEED)
        flags_json = json.dumps(checks.ordered_flags(flags))
        if (row.speed_kmh, row.speed_with, row.flags) != (speed, other, flags_json):
            conn.execute(visit_checks.update().where(c.visit_id == visit_id)
                         .values(speed_kmh=speed, speed_with=other, flags=flags_json))


def check_visit(conn: sa.Connection, visit_id: str, rev: str, seq: int, body: dict, t: Thresholds,
                now: dt.datetime | None = None) -> None:
    """Compute and upsert the visit's row, then refresh the speed flags around it."""
    now = now or clock.now()
    try:
        values = assess_visit(conn, body, t)
    except sa.exc.SQLAlchemyError:
        raise
    except Exception:  # noqa: BLE001 - a bug in a check must not refuse a cadre's visit
        log.exception("visit check failed for %s %s", visit_id, rev)
        values = {"area": _area(body), "visitor": str(body.get("visitor") or "")[:100],
                  "household_id": None, "photo_count": 0, "flags": [CHECK_ERROR]}
    values["flags"] = json.dumps(checks.ordered_flags(values["flags"]))
    values.update(rev=rev, seq=seq, computed_at=now, speed_kmh=None, speed_with=None)
    c = visit_checks.c
    old = conn.execute(sa.select(c.visitor, c.fix_time, c.lat).where(c.visit_id == visit_id)).first()
    affected = [visit_id]
    if old is not None and old.fix_time is not None and old.lat is not None:
        affected += _neighbours(conn, old.visitor, as_utc(old.fix_time), visit_id)
    if old is None:
        conn.execute(visit_checks.insert().values(visit_id=visit_id, **values))
    else:
        conn.execute(visit_checks.update().where(c.visit_id == visit_id).values(**values))
    if values.get("fix_time") is not None and values.get("lat") is not None:
        affected += _neighbours(conn, values["visitor"], values["fix_time"], visit_id)
    refresh_speed(conn, affected, t)


def remove_visit(conn: sa.Connection, visit_id: str, t: Thresholds) -> None:
    c = visit_checks.c
    old = conn.execute(sa.select(c.visitor, c.fix_time, c.lat).where(c.visit_id == visit_id)).first()
    if old is None:
        return
    neighbours = []
    if old.fix_time is not None and old.lat is not None:
        neighbours = _neighbours(conn, old.visitor, as_utc(old.fix_time), visit_id)
    conn.execute(visit_checks.delete().where(c.visit_id == visit_id))
    refresh_speed(conn, neighbours, t)


# -- rebuild ----------------------------------------------------------------------------------------------

def rebuild(engine: sa.Engine, db_name: str, t: Thresholds, area_prefix: str = "", batch: int = 500) -> dict:
    """Recompute every household index row and visit check in the domain database (under an area
    prefix): after new boundaries, changed thresholds, or for documents written before geotagging
    was installed. Households first, then visits; one transaction per batch of documents."""
    counts = {"households": 0, "visits": 0}
    for wanted in (HOUSEHOLD, VISIT):
        after = ""
        while True:
            with engine.connect() as conn:
                conn = conn.execution_options(sqlite_immediate=True)
                with conn.begin():
                    db_id = lock_domain(conn, db_name)
                    if db_id is None:
                        return counts
                    rows = conn.execute(
                        sa.select(documents.c.doc_id, documents.c.winning_rev, documents.c.seq, revisions.c.body)
                        .join(revisions, sa.and_(revisions.c.db_id == documents.c.db_id,
                                                 revisions.c.doc_id == documents.c.doc_id,
                                                 revisions.c.rev == documents.c.winning_rev))
                        .where(documents.c.db_id == db_id, documents.c.deleted == sa.false(),
                               documents.c.scope.startswith(area_prefix), documents.c.doc_id > after)
                        .order_by(documents.c.doc_id).limit(batch)).all()
                    now = clock.now()
                    for row in rows:
                        body = json.loads(row.body)
                        if body.get("type") != wanted:
                            continue
                        if wanted == HOUSEHOLD:
                            index_household(conn, row.doc_id, row.winning_rev, body, now)
                            counts["households"] += 1
                        else:
                            check_visit(conn, row.doc_id, row.winning_rev, row.seq, body, t, now)
                            counts["visits"] += 1
            if len(rows) < batch:
                break
            after = rows[-1].doc_id
    return counts
