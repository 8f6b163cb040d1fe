"""Areas (district / township / village with statistical division codes) and their import.

A code's length gives its level (6 district, 9 township, 12 village) and its parent is the code's
prefix, so an import only needs code and name; a given level or parent must agree with the code.
"""
from __future__ import annotations

import csv
import io
import json

import sqlalchemy as sa

from server.core.db import db
from server.core.models import LEVELS, Area


class AreaError(ValueError):
    pass


def parent_of(code: str) -> str | None:
    return {12: code[:9], 9: code[:6]}.get(len(code))


def check_area(code, name, level=None, parent=None) -> dict:
    if not isinstance(code, str) or not code.isascii() or not code.isdigit() or len(code) not in LEVELS:
        raise AreaError(f"area code {code!r} is not a 6, 9 or 12-digit statistical division code")
    if not isinstance(name, str) or not name.strip():
        raise AreaError(f"area {code}: a name is required")
    expected_level = LEVELS[len(code)]
    if level not in (None, "", expected_level):
        raise AreaError(f"area {code}: level {level!r} does not match its code ({expected_level})")
    expected_parent = parent_of(code)
    if parent not in (None, "") and parent != expected_parent:
        raise AreaError(f"area {code}: parent {parent!r} does not match its code ({expected_parent})")
    return {"code": code, "name": name.strip(), "level": expected_level, "parent_code": expected_parent}


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
    return [check_area(r.get("code"), r.get("name"), r.get("level"), r.get("parent") or r.get("parent_code"))
            for r in rows]


def import_areas(rows: list[dict]) -> tuple[int, int]:
    """Insert or rename areas; parents must exist in the store or in the same import."""
    known = set(db.session.execute(sa.select(Area.code)).scalars())
    incoming = {r["code"] for r in rows}
    for r in rows:
        if r["parent_code"] and r["parent_code"] not in known | incoming:
            raise AreaError(f"area {r['code']}: parent {r['parent_code']} is neither known nor in this import")
    created = updated = 0
    for r in sorted(rows, key=lambda r: len(r["code"])):
        existing = db.session.get(Area, r["code"])
        if existing is None:
            db.session.add(Area(**r))
            created += 1
        elif existing.name != r["name"]:
            existing.name = r["name"]
            updated += 1
        db.session.flush()
    db.session.commit()
    return created, updated


def children(code: str) -> list[Area]:
    return list(db.session.execute(sa.select(Area).where(Area.parent_code == code).order_by(Area.code)).scalars())


def within(prefix: str, level: str | None = None) -> list[Area]:
    stmt = sa.select(Area).where(Area.code.startswith(prefix)).order_by(Area.code)
    if level:
        stmt = stmt.where(Area.level == level)
    return list(db.session.execute(stmt).scalars())
