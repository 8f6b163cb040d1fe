"""Disputes as the ledger lists them (the notices: notices.py): SQL on `ledger_records` (the facts of
each dispute and notice, a read model kept by every write: index.py), restricted to the viewer's
scope and the requested area by the same index ranges the engine's reads use
(`sync.sql.scope_clause`); single documents are read through the viewer's user-bound store handle."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import sqlalchemy as sa

from schemas.vocabulary import DISPUTE_CATEGORIES, KEY_RISK_LEVELS, OPEN_DISPUTE_STATUSES
from sync.sql import scope_clause

from server.core.models import as_utc
from server.services.calendar.periods import start_of_day
from server.services.ledger.index import DISPUTE
from server.services.ledger.tables import records
from server.services.ledger.windows import MAX_ROWS, end_of

FACT_FIELDS = ("area", "category", "risk_level", "status", "summary", "created_at", "created_by",
               "accepted_at", "resolved_at", "one_time_resolution", "satisfaction", "round_id")


def live_records(database, doc_type: str, area: str, *extra) -> list:
    """WHERE conditions over `ledger_records`: live documents of a type in the handle's database,
    inside its scope and `area` (index ranges, the same prefix rule as the engine's reads)."""
    d = records.c
    conds = [d.db_name == database.name, d.type == doc_type, d.deleted == sa.false(), *extra]
    for clause in (scope_clause(d.area, database.access.read_prefixes), scope_clause(d.area, (area,)) if area else None):
        if clause is not None:
            conds.append(clause)
    return conds


def fact(row) -> dict:
    """A `ledger_records` row as the pages use it (times as aware UTC datetimes)."""
    out = {"id": row.doc_id}
    mapping = row._mapping
    for f in FACT_FIELDS:
        out[f] = mapping.get(f)
    out["one_time_resolution"] = bool(out["one_time_resolution"])
    for f in ("created_at", "accepted_at", "resolved_at"):
        out[f] = as_utc(out[f])
        out[f + "_dt"] = out[f]
    return out


def open_dispute_matrix(database, area: str) -> dict:
    """Open disputes (registered / mediating / escalated) under `area`, counted by category and risk."""
    d = records.c
    query = (sa.select(d.category, d.risk_level, sa.func.count())
             .where(*live_records(database, DISPUTE, area, d.status.in_(OPEN_DISPUTE_STATUSES)))
             .group_by(d.category, d.risk_level))
    cells: dict[str, Counter] = defaultdict(Counter)
    with database.store.reading() as conn:
        for category, risk, n in conn.execute(query):
            cells[category or "other"][risk or "low"] += n
    return {"cells": cells, "categories": [c for c in DISPUTE_CATEGORIES if c in cells],
            "totals": sum((c for c in cells.values()), Counter())}


def dispute_list(database, area: str, *, status: str | None = None, risk: str | None = None,
                 category: str | None = None, open_only: bool = False, key_only: bool = False,
                 offset: int = 0, limit: int = 50) -> list[dict]:
    """One page of disputes under `area` (id order), only the listed fields."""
    d = records.c
    extra = []
    if status:
        extra.append(d.status == status)
    if risk:
        extra.append(d.risk_level == risk)
    if category:
        extra.append(d.category == category)
    if open_only:
        extra.append(d.status.in_(OPEN_DISPUTE_STATUSES))
    if key_only:
        extra.append(d.risk_level.in_(KEY_RISK_LEVELS))
    query = (sa.select(records).where(*live_records(database, DISPUTE, area, *extra))
             .order_by(d.doc_id).offset(offset).limit(limit))
    with database.store.reading() as conn:
        return [fact(r) for r in conn.execute(query)]


def open_key_count(database, area: str) -> int:
    """How many open disputes of high or key risk are under `area` (the dashboard lists the first)."""
    d = records.c
    query = sa.select(sa.func.count()).select_from(records).where(*live_records(
        database, DISPUTE, area, d.status.in_(OPEN_DISPUTE_STATUSES), d.risk_level.in_(KEY_RISK_LEVELS)))
    with database.store.reading() as conn:
        return conn.execute(query).scalar_one()


def dispute_facts(database, area: str, since: dt.date | None = None, until: dt.date | None = None,
                  *, key_only: bool = False, open_before: dt.date | None = None) -> list[dict]:
    """The small facts of the disputes under `area` that the figures need (bounded by MAX_ROWS):
    with a window, only those registered or resolved in it (and, with `open_before`, those still
    open that were registered before the end of that day)."""
    d = records.c
    extra = []
    if since is not None and until is not None:
        lo, hi = as_utc(start_of_day(since)), as_utc(end_of(until))
        window = [sa.and_(d.created_at >= lo, d.created_at < hi), sa.and_(d.resolved_at >= lo, d.resolved_at < hi)]
        if open_before is not None:
            window.append(sa.and_(d.status.in_(OPEN_DISPUTE_STATUSES), d.created_at < as_utc(end_of(open_before))))
        extra.append(sa.or_(*window))
    if key_only:
        extra.append(d.risk_level.in_(KEY_RISK_LEVELS))
    query = sa.select(records).where(*live_records(database, DISPUTE, area, *extra)).order_by(d.doc_id).limit(MAX_ROWS)
    with database.store.reading() as conn:
        return [fact(r) for r in conn.execute(query)]
