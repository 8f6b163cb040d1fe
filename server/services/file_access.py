"""Opening a matter's file: who sees its personal data whole (`privacy.handles`, with the matter's
steps read from the matters' read model), the matter as that viewer is shown it, and the log of
every opening (`file_openings`, append-only: the one write a ledger GET page makes).

Every read path for a person goes through here: the ledger's file page (`ledger_page`), its
exports (`export`) and `/api/v1`'s dispute reads (`api`). Replication does not (the phones of the
matter's area hold it whole, offline).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Iterable

import sqlalchemy as sa

from sync.sql import scope_clause

from server.core import clock
from server.core.db import reading, writing
from server.core.models import FileOpening, as_utc
from server.services import privacy
from server.services.matters.tables import steps as step_rows

LEDGER_PAGE, API, EXPORT = "ledger_page", "api", "export"
INTERFACES = (LEDGER_PAGE, API, EXPORT)
_openings = FileOpening.__table__
_CHUNK = 500


def steps_of(database, matter_ids: Iterable[str]) -> dict[str, list[dict]]:
    """The live steps of these matters that the handle's user may read, by matter."""
    ids = list(dict.fromkeys(matter_ids))
    found: dict[str, list[dict]] = {i: [] for i in ids}
    s = step_rows.c
    with database.store.reading() as conn:
        for start in range(0, len(ids), _CHUNK):
            conds = [s.db_name == database.name, s.matter_id.in_(ids[start:start + _CHUNK]), s.deleted.is_(False)]
            clause = scope_clause(s.area, database.access.read_prefixes)
            if clause is not None:
                conds.append(clause)
            for doc_id, matter_id, kind, body in conn.execute(sa.select(s.doc_id, s.matter_id, s.kind, s.body).where(*conds)):
                found[matter_id].append({**json.loads(body), "_id": doc_id, "kind": kind, "matter_id": matter_id})
    return found


def handled(database, who, matters: list[dict]) -> dict[str, bool]:
    """`privacy.handles` for each matter (a dict with `_id` or `id`, `area`, `created_by`): the steps
    are read only for the matters the viewer does not handle by their area or role."""
    def key(m):
        return m.get("_id") or m.get("id")

    out = {key(m): privacy.handles(who, m) for m in matters}
    rest = [m for m in matters if not out[key(m)]]
    if rest:
        by_matter = steps_of(database, [key(m) for m in rest])
        for m in rest:
            out[key(m)] = privacy.handles(who, m, by_matter.get(key(m), ()))
    return out


def shown(doc: dict, whole: bool) -> dict:
    """The dispute as the viewer is shown it."""
    return doc if whole else privacy.masked_matter(doc)


def record_openings(db_name: str, who, opened: list[tuple[dict, bool]], interface: str) -> None:
    """One `file_openings` row per (matter, unmasked) opened by `who` through `interface`."""
    if not opened:
        return
    if interface not in INTERFACES:
        raise ValueError(f"unknown interface {interface!r}")
    now = as_utc(clock.now())  # SQLite keeps the wall time and drops the offset: always UTC
    rows = [{"db_name": db_name, "matter_id": doc["_id"], "area": doc.get("area") or "", "account": who.name,
             "role": who.role, "interface": interface, "unmasked": bool(whole), "at": now}
            for doc, whole in opened]
    with writing() as session:
        session.execute(sa.insert(_openings), rows)


def open_files(database, who, docs: list[dict], interface: str) -> list[dict]:
    """The disputes `docs` (read through `who`'s handle) as `who` is shown them, each opening logged."""
    docs = [d for d in docs if d.get("type") == "dispute"]
    whole = handled(database, who, docs)
    record_openings(database.name, who, [(d, whole[d["_id"]]) for d in docs], interface)
    return [shown(d, whole[d["_id"]]) for d in docs]


def open_file(database, who, doc: dict, interface: str) -> tuple[dict, bool]:
    """One dispute as `who` is shown it, and whether whole; the opening logged."""
    whole = handled(database, who, [doc])[doc["_id"]]
    record_openings(database.name, who, [(doc, whole)], interface)
    return shown(doc, whole), whole


def mask_rows(database, who, rows: list[dict], fields: tuple[str, ...] = ("summary",)) -> list[dict]:
    """List rows (the ledger's facts: `id`, `area`, `created_by`, `summary`) with the text of the
    matters `who` does not handle masked where it quotes their parties. Not an opening of a file:
    not logged. Reads the documents only of the rows that need it."""
    if not rows:
        return rows
    whole = handled(database, who, rows)
    foreign = [r["id"] for r in rows if not whole[r["id"]]]
    if not foreign:
        return rows
    parties = {}
    for start in range(0, len(foreign), _CHUNK):
        for row in database.all_docs(keys=foreign[start:start + _CHUNK], include_docs=True).rows:
            if row.doc:
                parties[row.key] = privacy.secrets_of(row.doc)
    out = []
    for r in rows:
        if r["id"] in parties:
            r = dict(r, **{f: privacy.mask_text(r.get(f), parties[r["id"]]) for f in fields})
        out.append(r)
    return out


def mask_about_matters(database, who, items: list[tuple[str | None, Any]]) -> list[Any]:
    """Each item (the id of the matter it is about, or None; any JSON-like value: a notice, a reply,
    a list row) with the parties' names and phones masked wherever it quotes them, for the matters
    `who` does not handle (a notice quoting a party is personal data as the matter's file is). Not
    an opening of a file: not logged."""
    ids = sorted({m for m, _ in items if m})
    if not ids:
        return [value for _, value in items]
    matters = {}
    for start in range(0, len(ids), _CHUNK):
        for row in database.all_docs(keys=ids[start:start + _CHUNK], include_docs=True).rows:
            if row.doc and row.doc.get("type") == "dispute":
                matters[row.key] = row.doc
    whole = handled(database, who, list(matters.values())) if matters else {}
    secrets = {m: privacy.secrets_of(doc) for m, doc in matters.items() if not whole.get(m)}
    return [privacy.mask_strings(value, secrets[m]) if m in secrets else value for m, value in items]


# -- the log, read ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Opening:
    id: int
    matter_id: str
    area: str
    account: str
    role: str
    interface: str
    unmasked: bool
    at: dt.datetime


#: The orders the log of openings offers; its own is newest first.
OPENING_SORT_KEYS = ("at", "account", "role", "matter", "area", "interface")


def _opening(row) -> Opening:
    return Opening(row.id, row.matter_id, row.area, row.account, row.role, row.interface, bool(row.unmasked),
                   as_utc(row.at))


def openings(db_name: str, scope: str, *, matter_id: str | None = None, account: str | None = None,
             since: dt.datetime | None = None, until: dt.datetime | None = None,
             sort: str = "at", descending: bool = True, offset: int = 0, limit: int = 50) -> list[Opening]:
    """The openings of matters whose area is inside `scope` ("" for all), newest first (or in
    `sort` order, then by id), filtered."""
    if sort not in OPENING_SORT_KEYS:
        raise ValueError(sort)
    o = _openings.c
    conds = [o.db_name == db_name]
    clause = scope_clause(o.area, (scope,)) if scope else None
    if clause is not None:
        conds.append(clause)
    if matter_id:
        conds.append(o.matter_id == matter_id)
    if account:
        conds.append(o.account == account)
    if since is not None:
        conds.append(o.at >= as_utc(since))
    if until is not None:
        conds.append(o.at < as_utc(until))
    column = {"at": o.at, "account": o.account, "role": o.role, "matter": o.matter_id, "area": o.area,
              "interface": o.interface}[sort]
    order = (column.desc(), o.id.desc()) if descending else (column, o.id)
    query = sa.select(_openings).where(*conds).order_by(*order).offset(offset).limit(limit)
    with reading() as session:
        return [_opening(r) for r in session.execute(query)]
