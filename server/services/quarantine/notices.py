"""Refusal notices: the `refusal_notice` documents that tell a writer an edit was refused.

The server writes them as itself (account `server`, role `server`: the write rules let no one else
but an administrator write this type) through the same store as everything else, so they replicate
to phones like any document. Each is tied to one quarantine entry (one refused revision): its id is
derived from the entry's fingerprint, so a re-sent revision never makes a second one, and two
processes writing it at once meet as a conflict. Its area is in the writer's read scope: the refused
document's area when the writer may read it, else the writer's own area. Only field accounts
(village cadres, township staff) are told; supervisors and administrators see refusals in the
browser at once.

`settle` does all notice work that is due, in a bounded batch, reading the entries' state: writes
the notices owed (open, or already resolved if the entry was decided first) and resolves the open
notices of entries that are no longer held. Every step is idempotent, so it runs wherever it may be
due: after a refusal, after a decision, after a write that superseded entries, and from
`flask quarantine notify`.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re

import sqlalchemy as sa
from flask import Flask

from sync import errors

from schemas.areas import is_area_code

from server.services.calendar.periods import as_aware, stamp
from server.core.access import server_access
from server.core.db import reading, writing
from server.core import clock
from server.core.models import Account
from server.core.store import get_store
from server.services.quarantine import reasons
from server.services.quarantine.entries import FIELD_ROLES, HELD, NOTICE_TYPE, table

log = logging.getLogger(__name__)

SERVER_ACCOUNT = "server"
BATCH = 200
_REV = re.compile(r"^[1-9][0-9]*-[0-9A-Za-z]{1,128}$")


def _area_code(value) -> bool:
    return is_area_code(value)


def notice_area(doc_area: str | None, role: str | None, scope: str | None) -> str | None:
    """Where a writer's phones receive it: the document's area if the writer reads it, else the
    writer's own area; None for accounts that are not told (not on phones, or no area)."""
    if role not in FIELD_ROLES or not _area_code(scope):
        return None
    if _area_code(doc_area) and doc_area.startswith(scope):
        return doc_area
    return scope


def _rev(value) -> str | None:
    return value if isinstance(value, str) and _REV.match(value) else None


def _when(moment: dt.datetime) -> str:
    local = as_aware(moment).astimezone(clock.SHANGHAI)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def _server_database(app: Flask):
    # A notice the rules refuse is a bug to log, never a refusal to keep (and tell about, ...).
    access = dataclasses.replace(server_access(app, SERVER_ACCOUNT), record_refusals=None)
    return get_store().open(app.config["PAICHA_DOMAIN_DB"], access)


def document(entry, area: str, kept_rev: str | None, now: dt.datetime) -> dict:
    """The notice of an entry as it should be now (open while the entry is held)."""
    why = reasons.reason(entry.reason_code)
    detail = entry.reason or ""
    if detail.startswith(f"[{entry.reason_code}] "):
        detail = detail[len(entry.reason_code) + 3:]
    what = reasons.DOC_TYPE_NAMES.get(entry.doc_type or "", ("记录",))[0]
    kept = "服务器保留的仍是此前的版本。" if kept_rev else "服务器上没有保存这条记录。"
    message = (f"您 {_when(entry.received_at)} 保存的{what}（{entry.doc_id}）未被服务器接收：{why.reason_zh}"
               f"{kept}{why.action_zh}")
    doc = {
        "_id": entry.notice_id, "type": NOTICE_TYPE, "area": area, "created_by": SERVER_ACCOUNT,
        "created_at": stamp(now), "account": entry.account, "doc_id": entry.doc_id,
        "new_edits": bool(entry.new_edits), "body_hash": entry.body_hash, "reason_code": entry.reason_code,
        "reason": why.reason_zh, "reason_en": detail[:4000], "action": why.action_zh, "action_en": why.action_en,
        "message": message, "received_at": stamp(entry.received_at), "quarantine_id": entry.id, "status": "open",
    }
    if entry.device_id:
        doc["device_id"] = entry.device_id
    if entry.doc_type:
        doc["doc_type"] = entry.doc_type
    rev = _rev(entry.rev)
    if rev:
        doc["parent_rev" if entry.new_edits else "sent_rev"] = rev
    if kept_rev:
        doc["kept_rev"] = kept_rev
    if entry.status != HELD:
        resolution = entry.status
        doc.update(status="resolved", resolution=resolution, resolved_at=stamp(entry.resolved_at or now))
        if entry.resolved_by:
            doc["resolved_by"] = entry.resolved_by[:64]
        settled_by = _rev(entry.resolved_rev) or (kept_rev if resolution == "superseded" else None)
        if settled_by:
            doc["resolved_rev"] = settled_by
        if resolution == "discarded":
            doc["resolution_note"] = (entry.note or "—")[:4000]
        done = reasons.RESOLUTION_ZH[resolution].format(note=entry.note or "")
        doc["message"] = f"{done}（{what} {entry.doc_id}）"
    return doc


def settle(app: Flask, limit: int | None = BATCH) -> int:
    """Write the notices that are owed and resolve those whose entry was decided; returns how
    many notices were written. Bounded by `limit` entries (None: until nothing is due)."""
    written = 0
    while True:
        size = BATCH if limit is None else min(limit, BATCH)
        done, seen, settled = _settle_batch(app, size)
        written += done
        if limit is not None:
            limit -= seen
        # A batch that settled nothing (conflicts with another process) would be read again as it is.
        if seen < size or not settled or (limit is not None and limit <= 0):
            return written


def _due(conn: sa.Connection, domain: str, limit: int) -> list:
    return conn.execute(sa.select(table).where(
        table.c.db_name == domain,
        sa.or_(table.c.notice_state == "owed", sa.and_(table.c.notice_state == "open", table.c.status != HELD)),
    ).order_by(table.c.id).limit(limit)).all()


def _settle_batch(app: Flask, limit: int) -> tuple[int, int, int]:
    """(notices written, entries looked at, entries whose notice state moved)"""
    domain = app.config["PAICHA_DOMAIN_DB"]
    with reading() as conn:
        entries = _due(conn, domain, limit)
        if not entries:
            return 0, 0, 0
        names = sorted({e.account for e in entries if not e.notice_area})
        writers = {n: (r, s) for n, r, s in conn.execute(
            sa.select(Account.name, Account.role, Account.scope).where(Account.name.in_(names)))} if names else {}
    database = _server_database(app)
    now = clock.now()
    winners = _winners(database, [e.doc_id for e in entries if e.doc_id])
    notices = _current(database, [e.notice_id for e in entries if e.notice_id])
    states: list[dict] = []  # {id, state, area, was}

    def moved(entry, state: str, area: str | None) -> None:
        states.append({"k_id": entry.id, "k_state": state, "k_area": area, "k_was": entry.notice_state})

    writes: list[tuple[object, dict, str]] = []  # (entry, document, state once written)
    for entry in entries:
        area = entry.notice_area or (notice_area(entry.area, *writers.get(entry.account, (None, None)))
                                     if entry.notice_id else None)
        if area is None:
            moved(entry, "none", None)
            continue
        want = document(entry, area, winners.get(entry.doc_id), now)
        target = "open" if want["status"] == "open" else "resolved"
        current = notices.get(entry.notice_id, "missing")
        if current == "missing":
            writes.append((entry, want, target))
        elif current is None:  # an administrator deleted it: not written again
            moved(entry, "none", area)
        elif current.get("status") == "resolved" or target == "open":
            moved(entry, "resolved" if current.get("status") == "resolved" else "open", area)
        else:
            first = current.get("created_at", want["created_at"])
            writes.append((entry, {**want, "_rev": current["_rev"], "created_at": first, "updated_by": SERVER_ACCOUNT,
                                   "updated_at": stamp(now)}, target))
    written = 0
    if writes:
        results = database.bulk_docs([doc for _, doc, _ in writes])
        for (entry, doc, target), result in zip(writes, results):
            if result.ok:
                written += 1
                moved(entry, target, doc["area"])
            elif isinstance(result.error, errors.Conflict):
                pass  # written meanwhile by another process: the next settle reads it
            else:
                log.error("refusal notice %s for quarantine entry #%s refused: %s", doc["_id"], entry.id,
                          result.error.reason)
                moved(entry, "failed", doc["area"])
    if states:
        with writing() as conn:
            conn.execute(sa.update(table).where(table.c.id == sa.bindparam("k_id"),
                                                table.c.notice_state == sa.bindparam("k_was"))
                         .values(notice_state=sa.bindparam("k_state"),
                                 notice_area=sa.func.coalesce(sa.bindparam("k_area"), table.c.notice_area)), states)
    return written, len(entries), len(states)


def _winners(database, doc_ids: list[str]) -> dict[str, str]:
    """The current winning revision of each document that exists (not deleted)."""
    out: dict[str, str] = {}
    ids = sorted(set(doc_ids))
    for start in range(0, len(ids), 500):
        for row in database.all_docs(keys=ids[start:start + 500]).rows:
            if row.found and not row.deleted and _rev(row.rev):
                out[row.id] = row.rev
    return out


def _current(database, notice_ids: list[str]) -> dict[str, dict | None]:
    """{id: notice} for notices that exist, {id: None} for deleted ones; absent ids are left out."""
    out: dict[str, dict | None] = {}
    ids = sorted(set(notice_ids))
    for start in range(0, len(ids), 500):
        for row in database.all_docs(keys=ids[start:start + 500], include_docs=True).rows:
            if row.found:
                out[row.id] = None if row.deleted else row.doc
    return out
