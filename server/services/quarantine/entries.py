"""The quarantine's table: keeping refused revisions, one row each, and closing them.

`hold` runs where the engine reports a write's refusals (`Access.record_refusals`, outside the write
transaction): it upserts one row per refused revision in one transaction (a re-send of the same
revision counts in `times_received` and moves `last_received_at`), and says whether writers are
owed a notice (the package then has them told, `notices.settle`). `supersede` is a write hook:
inside every accepted write's transaction, one statement over the partial index of held rows
closes the held entries of the written documents as "superseded" (a valid revision was accepted
since); their notices are resolved when the request or app context ends (`superseded_meanwhile`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask import g, has_app_context

from schemas.rules import Refusal
from sync.access import AcceptedWrite, WriteAttempt

from server.core import metrics
from server.core.db import writing
from server.core.hooks import WriteContext
from server.core import clock
from server.core.models import Account, QuarantinedDoc

log = logging.getLogger(__name__)

HELD, READMITTED, DISCARDED, SUPERSEDED = "held", "readmitted", "discarded", "superseded"
STATUSES = (HELD, READMITTED, DISCARDED, SUPERSEDED)
# The accounts that work on phones: their refusals are told back to them as notices.
FIELD_ROLES = ("village_cadre", "township_staff")
NOTICE_TYPE = "refusal_notice"
IN_CHUNK = 500
SETTLE_FLAG = "_paicha_quarantine_settle"

table = QuarantinedDoc.__table__


# -- identity of a refused revision ----------------------------------------------------------------

def body_hash(new: dict, received: str | None = None) -> str:
    """SHA-256 of the refused document's own fields (without _id, _rev and _revisions), or of the
    text received when it could not be read as a document."""
    if received is not None:
        return hashlib.sha256(received.encode("utf-8", "surrogatepass")).hexdigest()
    own = {k: v for k, v in new.items() if k not in ("_id", "_rev", "_revisions")}
    try:
        text = json.dumps(own, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    except (TypeError, ValueError, RecursionError):
        text = repr(own)
    return hashlib.sha256(text.encode("ascii", "backslashreplace")).hexdigest()


def fingerprint(doc_id: str, new_edits: bool, rev: str | None, hashed: str) -> str:
    """Names one refused revision: a replicated one (new_edits=false) by its rev alone (its
    attachments may come inline one time and as stubs the next), a direct edit by the rev it edits
    and its fields. Migration 0007 has a copy of this: change neither."""
    parts = [doc_id, "edit", rev or "", hashed] if new_edits else [doc_id, "replicated", rev or ""]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def notice_id_for(fp: str) -> str:
    return "refusal-" + fp[:32]


def _stored_text(new: dict, received: str | None) -> str:
    if received is not None:
        return clean(received)
    try:
        text = json.dumps(new, ensure_ascii=False)
        text.encode("utf-8")  # half a character (a lone surrogate) cannot be stored as it is
        return text
    except UnicodeEncodeError:
        return json.dumps(new, ensure_ascii=True)
    except (TypeError, ValueError, RecursionError):
        return repr(new)


def clean(text: str) -> str:
    """Text as it can be stored: half a character (a lone surrogate) and the NUL character (which
    PostgreSQL cannot hold in text) written as their escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _short(value, size: int) -> str | None:
    return clean(value)[:size] if isinstance(value, str) and value else None


# -- keeping -------------------------------------------------------------------------------------

def writer_of(conn: sa.Connection, account: str) -> tuple[str | None, str | None]:
    """(role, scope) of an account; (None, None) for the server's own writers."""
    row = conn.execute(sa.select(Account.role, Account.scope).where(Account.name == account)).first()
    return (row.role, row.scope) if row else (None, None)


def _upsert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.db_name, table.c.fingerprint],
        set_={"times_received": table.c.times_received + stmt.excluded.times_received,
              "last_received_at": stmt.excluded.last_received_at})


def rows_for(context: WriteContext, refused: list[tuple[WriteAttempt, Refusal]], role: str | None,
             scope: str | None, now: dt.datetime) -> list[dict]:
    """One row per refused revision of this write (a batch may carry the same one twice)."""
    rows: dict[str, dict] = {}
    for attempt, refusal in refused:
        new = attempt.new if isinstance(attempt.new, dict) else {}
        received = getattr(attempt, "received", None)
        sent_rev = new.get("_rev") if isinstance(new.get("_rev"), str) else None
        hashed = body_hash(new, received)
        doc_id = attempt.doc_id if isinstance(attempt.doc_id, str) else ""
        fp = fingerprint(doc_id, attempt.new_edits, sent_rev, hashed)
        if fp in rows:
            rows[fp]["times_received"] += 1
            continue
        code = refusal.code
        stored_id = clean(doc_id)[:255]
        # Told only about a document the phone can recognise by its id.
        tell = role in FIELD_ROLES and bool(doc_id) and stored_id == doc_id
        rows[fp] = {
            "db_name": context.db_name, "doc_id": stored_id, "rev": _short(sent_rev, 80), "fingerprint": fp,
            "body_hash": hashed, "doc_type": _short(new.get("type"), 40), "area": _short(new.get("area"), 64),
            "account": context.account[:100], "writer_scope": scope, "device_id": _short(context.device_id, 100),
            "reason_code": code[:40], "reason": clean(f"[{code}] {refusal.reason}"), "body": _stored_text(new, received),
            "new_edits": bool(attempt.new_edits), "received_at": now, "last_received_at": now,
            "times_received": 1, "status": HELD,
            "notice_id": notice_id_for(fp) if tell else None, "notice_state": "owed" if tell else "none",
        }
    return list(rows.values())


def hold(context: WriteContext, refused: list[tuple[WriteAttempt, Refusal]]) -> bool:
    """Keep the refused revisions of one write, all in one transaction (a phone on an old app
    version may send a thousand the schema now refuses), queued with the store's other writers.
    True if their writers are owed a notice."""
    with writing() as conn:
        role, scope = writer_of(conn, context.account)
        rows = rows_for(context, refused, role, scope, clock.now())
        conn.execute(_upsert(conn.get_bind().dialect.name), rows)
    via = metrics.via_for_account(context.account)
    for attempt, refusal in refused:
        metrics.count_rejection(refusal.code, via)
        log.info("quarantined %s from %s: %s", attempt.doc_id, context.account, refusal.code)
    return any(row["notice_state"] == "owed" for row in rows)


# -- superseding ---------------------------------------------------------------------------------

# A literal 'held', so that SQLite and PostgreSQL read it from the partial index of held rows.
_SUPERSEDE = sa.text(
    "UPDATE quarantine SET status = 'superseded', resolved_at = :now, resolved_by = :by "
    "WHERE status = 'held' AND db_name = :db AND doc_id IN :ids"
).bindparams(sa.bindparam("ids", expanding=True))


def supersede(conn: sa.Connection, context: WriteContext, writes: list[AcceptedWrite]) -> None:
    """The write hook: held entries of the documents just written are superseded. One statement on
    the partial index of held rows (nothing read when none is held); refusal notices are skipped."""
    ids = sorted({w.doc_id for w in writes if (w.body or {}).get("type") != NOTICE_TYPE})
    changed = 0
    for start in range(0, len(ids), IN_CHUNK):
        changed += conn.execute(_SUPERSEDE, {"now": clock.now(), "by": context.account[:100], "db": context.db_name,
                                             "ids": ids[start:start + IN_CHUNK]}).rowcount or 0
    if changed and has_app_context():
        setattr(g, SETTLE_FLAG, True)  # their notices are resolved once this write has committed


def superseded_meanwhile() -> bool:
    """Asked at the end of a request (or app context): did its writes supersede entries (whose
    notices are to be resolved, now that those writes have committed)? Asked once."""
    return bool(has_app_context() and g.pop(SETTLE_FLAG, None))


# -- reading -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    status: str | None = HELD  # None: every status
    account: str | None = None
    doc_type: str | None = None
    since: dt.datetime | None = None  # first received at or after
    until: dt.datetime | None = None  # first received before
    doc_id: str | None = None  # a part of the document id


def visible_clause(scope: str | None):
    """An administrator with a scope sees the entries of documents in it, or of writers in it."""
    if not scope:
        return sa.true()
    return sa.or_(table.c.area.startswith(scope, autoescape=True),
                  table.c.writer_scope.startswith(scope, autoescape=True))


def _where(filters: Filters, scope: str | None) -> list:
    clauses = [visible_clause(scope)]
    if filters.status:
        clauses.append(table.c.status == filters.status)
    if filters.account:
        clauses.append(table.c.account == filters.account)
    if filters.doc_type:
        clauses.append(table.c.doc_type == filters.doc_type)
    if filters.since:
        clauses.append(table.c.received_at >= filters.since)
    if filters.until:
        clauses.append(table.c.received_at < filters.until)
    if filters.doc_id:
        clauses.append(table.c.doc_id.contains(filters.doc_id, autoescape=True))
    return clauses


#: The orders the list offers (the entry's number breaks ties); its own is newest first.
SORT_KEYS = ("received", "id", "account", "type", "area", "reason", "times", "status")


def search(conn: sa.Connection, filters: Filters, scope: str | None = None, *, sort: str = "received",
           descending: bool = True, offset: int = 0, limit: int = 50) -> tuple[int, list]:
    """(how many match, one page of them, newest first or in `sort` order)."""
    if sort not in SORT_KEYS:
        raise ValueError(sort)
    where = _where(filters, scope)
    total = conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
    c = table.c
    column = {"received": c.received_at, "id": c.id, "account": c.account, "type": c.doc_type, "area": c.area,
              "reason": c.reason_code, "times": c.times_received, "status": c.status}[sort]
    order = (column.desc(), c.id.desc()) if descending else (column, c.id)
    rows = conn.execute(sa.select(table).where(*where).order_by(*order).offset(offset).limit(limit)).all()
    return total, rows


def get(conn: sa.Connection, entry_id: int, scope: str | None = None):
    return conn.execute(sa.select(table).where(table.c.id == entry_id, visible_clause(scope))).first()

