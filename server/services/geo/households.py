"""The household registry of a village: import from CSV or JSON, and optional address geocoding.

Households are `household` documents in the domain database, written through the store with the
normal rules as the importing account, so they sync to the phones of the village and township like
any other document (and pass through the write hooks: audit trail, household index).

File columns (CSV header / JSON keys), one household per row:
    address    required, the address as people write it (三组 12 号)
    id         optional, the household's id in the source register: re-importing the same file
               then finds the same documents (without it: the address and head_name identify it)
    head_name, phone, members, notes   optional
    lat, lon, crs   optional location; crs defaults to --crs (WGS-84). JSON may instead give
               "location": {"lat", "lon", "crs"}.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import Flask

from schemas import validate_document
from schemas.areas import VILLAGE, AreaCode, is_area_code

from server.core import clock
from server.core.access import domain_database
from server.core.auth import principal_named
from server.core.clock import SHANGHAI
from server.core.models import Area
from server.core.store import get_store
from server.services.geo import crs as crs_mod
from server.services.geo.checks import validate_location
from server.services.geo.geocode import Geocoder
from server.services.geo.settings import Thresholds
from server.services.geo.tables import geo_households
from server.services.geo.visits import set_geocoded_location
OPTIONAL_TEXT = ("head_name", "phone", "notes")
_ID_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_NAMESPACE = uuid.UUID("5b0f4a1e-3c8d-4f7a-9a61-2f0c1d7e8b93")  # fixed: ids must be stable across imports
BATCH = 200


class HouseholdImportError(ValueError):
    pass


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (doc id, reason)
    ids: list[str] = field(default_factory=list)


def parse_file(text: str, fmt: str) -> list[dict]:
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        return [{(k or "").strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
                for row in reader]
    if fmt == "json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise HouseholdImportError(f"not JSON: {exc}") from None
        rows = data.get("households") if isinstance(data, dict) else data
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise HouseholdImportError('JSON must be a list of households or {"households": [...]}')
        return rows
    raise HouseholdImportError(f"unknown format {fmt!r}")


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value, name: str, n: int, problems: list[str]):
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            problems.append(f"row {n}: {name} {value!r} is not a number")
            return None
    return value


def household_id(village: str, row: dict) -> str:
    """Stable: the source register's id if given, else derived from address and head_name."""
    if not _blank(row.get("id")):
        return f"household-{village}-{_ID_SAFE.sub('-', str(row['id']).strip())[:200]}"
    key = f"{village}|{' '.join(str(row.get('address') or '').split())}|{str(row.get('head_name') or '').strip()}"
    return f"household-{uuid.uuid5(_NAMESPACE, key)}"


def build_documents(rows: list[dict], village: str, account: str, default_crs: str = crs_mod.WGS84,
                    now: dt.datetime | None = None) -> list[dict]:
    """The household documents for these rows; HouseholdImportError listing every bad row."""
    if not is_area_code(village, VILLAGE):
        raise HouseholdImportError(f"--village must be a 12-digit village code, got {village!r}")
    if default_crs not in crs_mod.SYSTEMS:
        raise HouseholdImportError(f"unknown coordinate system {default_crs!r}")
    stamp = (now or clock.now()).astimezone(SHANGHAI).isoformat(timespec="seconds")
    problems: list[str] = []
    docs: list[dict] = []
    seen: dict[str, int] = {}
    for n, row in enumerate(rows, start=1):
        row_problems: list[str] = []
        doc = {"_id": household_id(village, row), "type": "household", "area": village,
               "created_by": account, "created_at": stamp}
        if _blank(row.get("address")):
            row_problems.append(f"row {n}: address is required")
        else:
            doc["address"] = " ".join(str(row["address"]).split())
        for key in OPTIONAL_TEXT:
            if not _blank(row.get(key)):
                doc[key] = str(row[key]).strip()
        if not _blank(row.get("members")):
            members = row["members"]
            try:
                doc["members"] = int(members) if not isinstance(members, bool) else members
            except (TypeError, ValueError):
                row_problems.append(f"row {n}: members {members!r} is not a whole number")
        location = row.get("location")
        if location is None and not (_blank(row.get("lat")) and _blank(row.get("lon"))):
            location = {"lat": _number(row.get("lat"), "lat", n, row_problems),
                        "lon": _number(row.get("lon"), "lon", n, row_problems),
                        "crs": row.get("crs") if not _blank(row.get("crs")) else default_crs}
        if location is not None and not row_problems:
            reason = validate_location(location)
            if reason:
                row_problems.append(f"row {n}: {reason}")
            else:
                doc["location"] = {"lat": float(location["lat"]), "lon": float(location["lon"]),
                                   "crs": location["crs"]}
        if not row_problems:
            row_problems.extend(f"row {n}: {p}" for p in validate_document(doc))
        if doc["_id"] in seen:
            row_problems.append(f"row {n}: the same household as row {seen[doc['_id']]} "
                                f"(give each row an id column to tell them apart)")
        seen.setdefault(doc["_id"], n)
        problems.extend(row_problems)
        docs.append(doc)
    if problems:
        more = f"; and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise HouseholdImportError("; ".join(problems[:20]) + more)
    return docs


def _database_as(app: Flask, account: str):
    """The domain database, opened as `account` with the normal write rules and hooks."""
    principal = principal_named(account)
    if principal is None:
        raise HouseholdImportError(f"no active account {account!r} to import as")
    return domain_database(principal)


def import_households(app: Flask, docs: list[dict], account: str, update: bool = False) -> ImportReport:
    """Write the documents: new ones are created; existing ones are left alone, or with update=True
    get the file's fields (keeping what the file does not say, e.g. a location set on a phone)."""
    database = _database_as(app, account)
    report = ImportReport()
    for start in range(0, len(docs), BATCH):
        chunk = docs[start:start + BATCH]
        rows = database.all_docs(keys=[d["_id"] for d in chunk], include_docs=True).rows
        existing = {r.id: r.doc for r in rows if r.doc and not r.deleted}
        to_write = []
        for doc in chunk:
            old = existing.get(doc["_id"])
            if old is None:
                to_write.append(doc)
                continue
            merged = {**old, **{k: v for k, v in doc.items() if k not in ("created_by", "created_at")}}
            if not update or _same(old, merged):
                report.unchanged += 1
                report.ids.append(doc["_id"])
                continue
            merged.update(updated_by=account, updated_at=doc["created_at"])
            to_write.append(merged)
        for result, doc in zip(database.bulk_docs(to_write), to_write):
            if result.error is not None:
                report.refused.append((doc["_id"], result.error.reason or result.error.error))
                continue
            report.ids.append(doc["_id"])
            if "_rev" in doc:
                report.updated += 1
            else:
                report.created += 1
    return report


def _same(old: dict, new: dict) -> bool:
    strip = {"_rev", "_revisions", "_attachments", "updated_by", "updated_at"}
    return {k: v for k, v in old.items() if k not in strip} == {k: v for k, v in new.items() if k not in strip}


# -- geocoding --------------------------------------------------------------------------------------

@dataclass
class GeocodeReport:
    looked_up: int = 0
    placed: int = 0
    not_found: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def area_path(conn: sa.Connection, code: str) -> list[str]:
    """Names of the village, its township and its district (those known), nearest first."""
    codes = [c.code for c in AreaCode(code).lineage] if is_area_code(code) else [code] if code else []
    names = dict(conn.execute(sa.select(Area.__table__.c.code, Area.__table__.c.name)
                              .where(Area.__table__.c.code.in_(codes))).all())
    return [names[c] for c in dict.fromkeys(codes) if c in names]


def geocode_households(app: Flask, area_prefix: str = "", limit: int | None = None, geocoder=None) -> GeocodeReport:
    """Place unlocated households (index rows without a location) from their address with the
    configured geocoder. Each network request happens outside any transaction."""
    geocoder = geocoder or Geocoder(app.config)
    # geopy loads with the first geocoder, not with every process (see checks.distance_m).
    from geopy.exc import GeopyError

    store = get_store()
    t = Thresholds.from_config(app.config)
    report = GeocodeReport()
    with store.reading() as conn:
        stmt = (sa.select(geo_households.c.doc_id, geo_households.c.area, geo_households.c.address)
                .where(geo_households.c.lat.is_(None), geo_households.c.area.startswith(area_prefix))
                .order_by(geo_households.c.doc_id))
        if limit:
            stmt = stmt.limit(limit)
        todo = conn.execute(stmt).all()
        queries = {r.doc_id: ", ".join([r.address] + area_path(conn, r.area)) for r in todo}
    for row in todo:
        query = queries[row.doc_id]
        with store.reading() as conn:
            hit, answer = geocoder.cached(conn, query)
        if not hit:
            try:
                answer = geocoder.ask(query)
            except GeopyError as exc:
                report.failed.append(f"{row.doc_id}: {exc}")
                continue
            report.looked_up += 1
        with store.writing() as conn:
            if not hit:
                geocoder.remember(conn, query, answer)
            if answer is None:
                report.not_found.append(row.doc_id)
            elif set_geocoded_location(conn, app.config["PAICHA_DOMAIN_DB"], row.doc_id, answer.lat, answer.lon, t):
                report.placed += 1
    return report
