"""`ledger_records` (see tables.py), the ledger's read model: a projection
(`server.core.projections`), so every accepted write to the domain database brings it up to date
inside its own transaction, whoever wrote it (sync, the mobile API, the bridge, the ledger's own
writes), from the document's winning revision (a replicated losing branch does not change the
facts). A deleted dispute keeps its row with deleted = true. A row only moves forward in `seq`, so a
rebuild racing a write never puts an older revision back.
"""
from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from server.core.projections import DocumentState
from server.core.upsert import upsert
from server.services.calendar.periods import as_aware, parse_timestamp
from server.services.ledger.tables import records

DISPUTE, NOTICE, REPLY = "dispute", "supervision_notice", "notice_reply"
TYPES = (DISPUTE, NOTICE, REPLY)
#: The field of each type that links it to another document: a notice's dispute, a reply's notice.
LINK_FIELD = {NOTICE: "dispute_id", REPLY: "notice_id"}
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
    """The row for a dispute's, notice's or reply's winning revision (`body` None: deleted)."""
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
            "satisfaction": _text(body.get("satisfaction"), 20), "round_id": _text(body.get("round_id"), 255),
            "link_id": _text(body.get(LINK_FIELD.get(doc_type, "")), 255),
            "kind": _text(body.get("kind"), 20) if doc_type == NOTICE else None,
            "priority": _text(body.get("priority"), 20) if doc_type == NOTICE else None,
            "replied_at": _utc(body.get("replied_at")) if doc_type == REPLY else None,
            "people": _people(body.get("people_involved")) if doc_type == DISPUTE else None}


def _people(value) -> int | None:
    """people_involved as written, if it is a count (the schema says an integer from 1)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2 ** 31 else None


def project(conn: sa.Connection, db_name: str, states: list[DocumentState]) -> None:
    """Bring `ledger_records` up to date with these documents, on the write's connection: a dispute,
    notice or reply gets its row; one that is deleted (or no longer of those types) keeps its row, marked
    deleted."""
    ours = [s for s in states if s.type in TYPES or s.written_type in TYPES]
    others = [s.doc_id for s in states if s.deleted and s.written_type not in TYPES]
    known = _known_types(conn, db_name, others) if others else {}
    rows = []
    for state in ours + [s for s in states if s.doc_id in known]:
        body = state.body if state.type in TYPES else None
        doc_type = state.type if body else (state.written_type if state.written_type in TYPES else known.get(state.doc_id))
        rows.append(facts(db_name, state.doc_id, state.seq, state.scope, body, doc_type or DISPUTE))
    upsert(conn, records, rows, ("db_name", "doc_id"), only_if_newer="seq")


def _known_types(conn: sa.Connection, db_name: str, doc_ids: list[str]) -> dict[str, str]:
    """{doc id: type} of the rows these documents already have."""
    out: dict[str, str] = {}
    for start in range(0, len(doc_ids), CHUNK):
        out.update(conn.execute(sa.select(records.c.doc_id, records.c.type).where(
            records.c.db_name == db_name, records.c.doc_id.in_(doc_ids[start:start + CHUNK]))).all())
    return out
