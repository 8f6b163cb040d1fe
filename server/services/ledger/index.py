"""`ledger_records` (see tables.py): kept up to date by a write hook, filled once from the store.

The hook sees every accepted write to the domain database inside its transaction (sync, the mobile
API, the bridge, the ledger's own writes), resolves the document's winning revision (a replicated
losing branch does not change the facts) and upserts the row; a deleted dispute keeps its row with
deleted = true. Both the hook and the backfill write a row only if their `seq` is newer than the
stored one, so a backfill racing a write never puts an older revision back.
"""
from __future__ import annotations

import datetime as dt
import functools
import json

import sqlalchemy as sa
from flask import Flask

from sync.access import AcceptedWrite
from sync.precompiled import execute_many
from sync.tables import databases, documents, revisions

from server.services.calendar import tables as calendar_tables
from server.services.calendar.periods import as_aware, parse_timestamp
from server.services.ledger.tables import records

DISPUTE, NOTICE = "dispute", "supervision_notice"
TYPES = (DISPUTE, NOTICE)
BACKFILLED = "ledger_records_backfilled:"  # + db name, in calendar_state
CHUNK = 500


def _utc(text) -> dt.datetime | None:
    moment = parse_timestamp(text) if isinstance(text, str) else None
    return as_aware(moment).astimezone(dt.timezone.utc) if moment else None


def _us(delta: dt.timedelta) -> int:
    return delta // dt.timedelta(microseconds=1)


def _text(value, size: int | None = None) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text[:size] if size else text


def facts(db_name: str, doc_id: str, seq: int, scope: str, body: dict | None, doc_type: str = DISPUTE) -> dict:
    """The row for a dispute's or notice's winning revision (`body` None: deleted)."""
    body = body or {}
    one = body.get("one_time_resolution")
    summary = body.get("subject") if doc_type == NOTICE else body.get("summary")
    created, accepted, resolved = (_utc(body.get(k)) for k in ("created_at", "accepted_at", "resolved_at"))
    start = accepted or created
    return {"db_name": db_name, "doc_id": doc_id, "type": body.get("type") or doc_type,
            "area": (scope or str(body.get("area") or ""))[:64], "seq": seq,
            "deleted": not body, "category": _text(body.get("category"), 40),
            "risk_level": _text(body.get("risk_level"), 20), "status": _text(body.get("status"), 20),
            "summary": _text(summary), "deadline": _text(body.get("deadline"), 40),
            "created_by": _text(body.get("created_by"), 255),
            "created_at": created, "accepted_at": accepted, "resolved_at": resolved,
            "accept_us": _us(accepted - created) if accepted and created else None,
            "resolve_us": _us(resolved - start) if resolved and start else None,
            "one_time_resolution": bool(one) if isinstance(one, bool) else None,
            "satisfaction": _text(body.get("satisfaction"), 20), "round_id": _text(body.get("round_id"), 255)}


def _upsert(conn: sa.Connection, rows: list[dict]) -> None:
    # One statement per dialect, built once and run by execute_many: a multi-row VALUES built per
    # batch would be compiled afresh each time (SQLAlchemy cannot cache it), half the cost of a push.
    execute_many(conn, _upsert_statement(conn.dialect.name), rows)


@functools.cache
def _upsert_statement(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(records)
    return stmt.on_conflict_do_update(
        index_elements=["db_name", "doc_id"],
        set_={c.name: stmt.excluded[c.name] for c in records.columns if c.name not in ("db_name", "doc_id")},
        where=records.c.seq < stmt.excluded.seq)


def apply_writes(conn: sa.Connection, db_name: str, writes: list[AcceptedWrite]) -> None:
    latest: dict[str, AcceptedWrite] = {}
    for w in writes:
        if (w.body or {}).get("type") in TYPES or (w.deleted and _known(conn, db_name, w.doc_id)):
            latest[w.doc_id] = w
    if not latest:
        return
    db_id = None
    rows = []
    for doc_id, w in latest.items():
        # The engine says which revision won once the batch was applied (the last write of a
        # document in the batch carries its final seq and scope).
        if w.winner_deleted:
            body = None
        elif w.winning_rev == w.rev:
            body = w.body
        else:  # a replicated losing branch, or an older revision than the winner: read the winner
            if db_id is None:
                db_id = conn.execute(sa.select(databases.c.id).where(databases.c.name == db_name)).scalar()
            text = conn.execute(sa.select(revisions.c.body).where(
                revisions.c.db_id == db_id, revisions.c.doc_id == doc_id,
                revisions.c.rev == w.winning_rev)).scalar()
            body = json.loads(text) if text else None
        if body is not None and body.get("type") not in TYPES:
            body = None  # no longer a dispute / notice: gone from the ledger
        known_type = body.get("type") if body else (w.body or {}).get("type") or _known(conn, db_name, doc_id)
        rows.append(facts(db_name, doc_id, w.seq, w.scope, body,
                          known_type if known_type in TYPES else DISPUTE))
    if rows:
        _upsert(conn, rows)


def _known(conn: sa.Connection, db_name: str, doc_id: str) -> str | None:
    """The type of the row this document already has, if any."""
    return conn.execute(sa.select(records.c.type).where(records.c.db_name == db_name,
                                                        records.c.doc_id == doc_id)).scalar()


def make_hook(app: Flask):
    def index_ledger_records(conn: sa.Connection, context, writes: list[AcceptedWrite]) -> None:
        if context.db_name == app.config["PAICHA_DOMAIN_DB"] and writes:
            apply_writes(conn, context.db_name, writes)

    return index_ledger_records


def ensure_backfilled(store, db_name: str) -> None:
    """Once per database: index the disputes and notices already in the store (written before the hook existed)."""
    state = calendar_tables.state
    key = BACKFILLED + db_name
    with store.engine.connect() as conn:
        if conn.execute(sa.select(state.c.value).where(state.c.key == key)).scalar():
            return
    with store.writing() as conn:
        if conn.execute(sa.select(state.c.value).where(state.c.key == key)).scalar():
            return
        db_id = conn.execute(sa.select(databases.c.id).where(databases.c.name == db_name)).scalar()
        if db_id is not None:
            joined = documents.join(revisions, sa.and_(
                revisions.c.db_id == documents.c.db_id, revisions.c.doc_id == documents.c.doc_id,
                revisions.c.rev == documents.c.winning_rev))
            stmt = (sa.select(documents.c.doc_id, documents.c.seq, documents.c.scope, revisions.c.body)
                    .select_from(joined)
                    .where(documents.c.db_id == db_id, documents.c.deleted == sa.false(),
                           sa.or_(*(revisions.c.body.like(f'%"type":%"{t}"%') for t in TYPES))))
            rows = []
            for doc_id, seq, scope, text in conn.execute(stmt).all():
                body = json.loads(text)
                if body.get("type") in TYPES:
                    rows.append(facts(db_name, doc_id, seq, scope, body, body["type"]))
                if len(rows) >= CHUNK:
                    _upsert(conn, rows)
                    rows = []
            if rows:
                _upsert(conn, rows)
        conn.execute(state.insert().values(key=key, value=dt.datetime.now(dt.timezone.utc).isoformat()))
