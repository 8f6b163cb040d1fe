"""The area registry: the districts, townships and villages the store knows (table `areas`), their
import, and the look-ups everyone makes in it.

What a code itself says (its level, its parent, which areas are inside it) is `schemas.areas.AreaCode`,
so an import only needs code and name; a given level or parent must agree with the code.
"""
from __future__ import annotations

import csv
import io
import json

from typing import Iterable

import sqlalchemy as sa

from schemas.areas import AreaCode, is_area_code, parent_of

from server.core.db import reading, writing
from server.core.models import Area

__all__ = ["AreaCode", "AreaError", "parent_of", "check_area", "parse_file", "import_areas", "children", "within",
           "names", "by_level", "under", "set_leader", "leader_for"]

LOOKUP_CHUNK = 500


class AreaError(ValueError):
    pass


LEADER_LIMIT = 100


def check_leader(code: str, leader) -> str | None:
    """An area's 包案领导 as written, or None (empty clears it)."""
    if leader is None or (isinstance(leader, str) and not leader.strip()):
        return None
    if not isinstance(leader, str) or len(leader.strip()) > LEADER_LIMIT:
        raise AreaError(f"area {code}: the leader must be a text of at most {LEADER_LIMIT} characters")
    return leader.strip()


def check_area(code, name, level=None, parent=None, leader=None) -> dict:
    if not is_area_code(code):
        raise AreaError(f"area code {code!r} is not a 6, 9 or 12-digit statistical division code")
    area = AreaCode(code)
    if not isinstance(name, str) or not name.strip():
        raise AreaError(f"area {code}: a name is required")
    if level not in (None, "", area.level):
        raise AreaError(f"area {code}: level {level!r} does not match its code ({area.level})")
    expected_parent = area.parent.code if area.parent else None
    if parent not in (None, "") and parent != expected_parent:
        raise AreaError(f"area {code}: parent {parent!r} does not match its code ({expected_parent})")
    row = {"code": area.code, "name": name.strip(), "level": area.level, "parent_code": expected_parent}
    if leader is not None:
        row["leader"] = check_leader(area.code, leader)
    return row


def parse_file(text: str, fmt: str) -> list[dict]:
    if fmt == "json":
        data = json.loads(text)
        rows = data.get("areas", data) if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise AreaError("JSON must be a list of areas or {\"areas\": [...]}")
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
    else:
        raise AreaError(f"unknown format {fmt!r}")
    return [check_area(r.get("code"), r.get("name"), r.get("level"), r.get("parent") or r.get("parent_code"),
                       r.get("leader"))
            for r in rows]


def import_areas(rows: list[dict]) -> tuple[int, int]:
    """Insert or rename areas (and set their leader where the import has a leader column); parents must
    exist in the store or in the same import."""
    with writing() as session:
        known = set(session.execute(sa.select(Area.code)).scalars())
        incoming = {r["code"] for r in rows}
        for r in rows:
            if r["parent_code"] and r["parent_code"] not in known | incoming:
                raise AreaError(f"area {r['code']}: parent {r['parent_code']} is neither known nor in this import")
        created = updated = 0
        for r in sorted(rows, key=lambda r: len(r["code"])):
            existing = session.get(Area, r["code"])
            if existing is None:
                session.add(Area(**r))
                created += 1
            elif existing.name != r["name"] or ("leader" in r and existing.leader != r["leader"]):
                existing.name = r["name"]
                if "leader" in r:
                    existing.leader = r["leader"]
                updated += 1
            session.flush()
    return created, updated


def set_leader(code: str, leader: str | None) -> None:
    """Name (or, with None, clear) an area's 包案领导."""
    value = check_leader(code, leader)
    with writing() as session:
        area = session.get(Area, code)
        if area is None:
            raise AreaError(f"area {code} is not known")
        area.leader = value


def children(code: str) -> list[Area]:
    with reading() as session:
        return list(session.execute(sa.select(Area).where(Area.parent_code == code).order_by(Area.code)).scalars())


def within(prefix: str, level: str | None = None) -> list[Area]:
    stmt = sa.select(Area).where(Area.code.startswith(prefix)).order_by(Area.code)
    if level:
        stmt = stmt.where(Area.level == level)
    with reading() as session:
        return list(session.execute(stmt).scalars())


# -- look-ups on a connection (the calendar, the ledger and the geo checks read areas in their own
# transactions) --------------------------------------------------------------------------------------

_areas = Area.__table__


def names(conn: sa.Connection, codes: Iterable[str]) -> dict[str, str]:
    """{code: name} of the known areas among `codes`."""
    codes = sorted(set(codes))
    out: dict[str, str] = {}
    for start in range(0, len(codes), LOOKUP_CHUNK):
        out.update(conn.execute(sa.select(_areas.c.code, _areas.c.name).where(
            _areas.c.code.in_(codes[start:start + LOOKUP_CHUNK]))).all())
    return out


def leader_for(conn: sa.Connection, code: str) -> tuple[str, str] | None:
    """(leader, area code) of the nearest area with a leader: the area itself, else the areas that
    enclose it, nearest first."""
    if not is_area_code(code):
        return None
    codes = [c.code for c in AreaCode(code).lineage]
    found = dict(conn.execute(sa.select(_areas.c.code, _areas.c.leader).where(
        _areas.c.code.in_(codes), _areas.c.leader.is_not(None))).all())
    return next(((found[c], c) for c in codes if found.get(c)), None)


def by_level(conn: sa.Connection, prefix: str = "") -> dict[str, list[str]]:
    """{level: [code, ...]} of the known areas under `prefix`, codes in order."""
    out: dict[str, list[str]] = {}
    stmt = sa.select(_areas.c.code, _areas.c.level).order_by(_areas.c.code)
    if prefix:
        stmt = stmt.where(_areas.c.code.startswith(prefix))
    for code, level in conn.execute(stmt):
        out.setdefault(level, []).append(code)
    return out


def under(conn: sa.Connection, prefix: str, level: str | None = None,
          limit: int | None = None) -> list[tuple[str, str, str]]:
    """(code, name, level) of the known areas under `prefix` (itself included), in code order."""
    stmt = sa.select(_areas.c.code, _areas.c.name, _areas.c.level).where(
        _areas.c.code.startswith(prefix)).order_by(_areas.c.code)
    if level:
        stmt = stmt.where(_areas.c.level == level)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [tuple(row) for row in conn.execute(stmt)]
