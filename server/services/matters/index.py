"""The matters' read model (tables.py), kept inside each write's transaction: a projection
(`server.core.projections`), so a dispute or a step written by sync, the API or the ledger is
numbered, indexed and its matter's stage derived before the write commits.

Registration numbers: a dispute gets `district-year-sequence` (e.g. 990101-2026-000123) when the
server first receives it: the district is its area's first 6 digits, the year that of the audit
trail's first entry for it (Asia/Shanghai), the sequence the next of that district and year. A
number is never changed nor given again (a deleted dispute keeps its number). Disputes received in
one write are numbered in the order of their first entry, then by id; `flask projections rebuild`
numbers the disputes that have none in that same order before it projects anything (`prepare`), so
an emptied table is filled with the numbers it had.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import NamedTuple

import sqlalchemy as sa
from flask import Flask

from sync.jsonio import loads_stored
from sync.tables import databases, documents, revisions

from server.core import clock
from server.core.models import AuditEntry
from server.core.projections import DocumentState
from server.core.upsert import upsert
from server.services.matters import figures, stages
from server.services.matters.tables import numbers, states, steps

DISPUTE, STEP = "dispute", "matter_step"
CHUNK = 500
audit = AuditEntry.__table__


def terms_of(config) -> stages.Terms:
    return stages.Terms(accept_days=config["PAICHA_MATTER_ACCEPT_DAYS"],
                        handle_days=config["PAICHA_MATTER_HANDLE_DAYS"],
                        extend_max_days=config["PAICHA_MATTER_EXTEND_MAX_DAYS"])


class Registered(NamedTuple):
    area: str
    registered_on: dt.date


def number_text(district: str, year: int, seq: int) -> str:
    return f"{district}-{year}-{seq:06d}"


# -- numbers -------------------------------------------------------------------------------------------------

def _first_entries(conn: sa.Connection, db_name: str, doc_ids: list[str]) -> dict[str, tuple[int, dt.datetime]]:
    """{doc id: (seq, at)} of each document's first audit entry."""
    out: dict[str, tuple[int, dt.datetime]] = {}
    for start in range(0, len(doc_ids), CHUNK):
        first = (sa.select(audit.c.doc_id, sa.func.min(audit.c.seq).label("seq"))
                 .where(audit.c.db_name == db_name, audit.c.doc_id.in_(doc_ids[start:start + CHUNK]))
                 .group_by(audit.c.doc_id).subquery())
        rows = conn.execute(sa.select(audit.c.doc_id, audit.c.seq, sa.func.min(audit.c.at))
                            .join(first, sa.and_(first.c.doc_id == audit.c.doc_id, first.c.seq == audit.c.seq))
                            .where(audit.c.db_name == db_name).group_by(audit.c.doc_id, audit.c.seq)).all()
        out.update({doc_id: (seq, _aware(at)) for doc_id, seq, at in rows})
    return out


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _number(conn: sa.Connection, db_name: str, disputes: list[tuple[str, dict, int]], *,
            received_now: bool = False) -> dict[str, tuple[str, dt.date]]:
    """Give a number to each of these (doc id, body, seq) that has none; {doc id: (area, registered
    day)} of those numbered now. `received_now`: they are being written now, so this write is their
    first receipt (their seq, this moment), without asking the audit trail (a rebuild asks it)."""
    ids = [doc_id for doc_id, _, _ in disputes]
    have = set()
    for start in range(0, len(ids), CHUNK):
        have.update(conn.execute(sa.select(numbers.c.doc_id).where(
            numbers.c.db_name == db_name, numbers.c.doc_id.in_(ids[start:start + CHUNK]))).scalars())
    new = [(doc_id, body, seq) for doc_id, body, seq in disputes if doc_id not in have]
    if not new:
        return {}
    now = clock.now()  # the server's clock, as the audit trail stamps a receipt
    first = {} if received_now else _first_entries(conn, db_name, [doc_id for doc_id, _, _ in new])
    ordered = sorted(new, key=lambda d: (first.get(d[0], (d[2], now))[0], d[0]))
    last: dict[tuple[str, int], int] = {}  # (district, year) -> the last number given, read once per batch
    rows = []
    for doc_id, body, seq in ordered:
        received_seq, received_at = first.get(doc_id, (seq, now))
        area = str(body.get("area") or "")
        district, year = area[:6], stages.day(received_at).year
        if (district, year) not in last:
            last[district, year] = conn.execute(sa.select(sa.func.max(numbers.c.seq)).where(
                numbers.c.db_name == db_name, numbers.c.district == district, numbers.c.year == year)).scalar() or 0
        last[district, year] += 1
        given = last[district, year]
        rows.append(dict(db_name=db_name, doc_id=doc_id, district=district, year=year, seq=given,
                         number=number_text(district, year, given), received_seq=received_seq,
                         received_at=received_at, area=area,
                         registered_on=stages.registered_on(body.get("created_at"), received_at)))
    conn.execute(numbers.insert(), rows)
    return {r["doc_id"]: (r["area"], r["registered_on"]) for r in rows}


def prepare(conn: sa.Connection, db_name: str) -> None:
    """Before a rebuild: number every stored dispute that has no number, in the order of first receipt
    (the first revision the audit trail holds for it), then id."""
    db_id = conn.execute(sa.select(databases.c.id).where(databases.c.name == db_name)).scalar()
    if db_id is None:
        return
    first = (sa.select(audit.c.doc_id, sa.func.min(audit.c.seq).label("seq"))
             .where(audit.c.db_name == db_name).group_by(audit.c.doc_id).subquery())
    numbered = sa.select(numbers.c.doc_id).where(numbers.c.db_name == db_name)
    rows = conn.execute(
        sa.select(audit.c.doc_id, audit.c.seq, revisions.c.body)
        .join(first, sa.and_(first.c.doc_id == audit.c.doc_id, first.c.seq == audit.c.seq))
        .join(revisions, sa.and_(revisions.c.db_id == db_id, revisions.c.doc_id == audit.c.doc_id,
                                 revisions.c.rev == audit.c.rev))
        .where(audit.c.db_name == db_name, audit.c.doc_id.not_in(numbered))
        .order_by(audit.c.seq, audit.c.doc_id)).all()
    disputes = []
    for doc_id, seq, text in rows:
        body = loads_stored(text) if text else None
        if body and body.get("type") == DISPUTE:
            disputes.append((doc_id, body, seq))
    _number(conn, db_name, disputes)


# -- steps and states ----------------------------------------------------------------------------------------

def _step_row(db_name: str, state: DocumentState, old_matter: str | None) -> dict | None:
    body = state.body if state.type == STEP else None
    matter = (body or {}).get("matter_id") or old_matter
    if not matter:
        return None
    own = {k: v for k, v in (body or {}).items() if not k.startswith("_")}
    at = stages.moment(own.get("at"))
    return {"db_name": db_name, "doc_id": state.doc_id, "matter_id": str(matter)[:255],
            "area": (state.scope or str(own.get("area") or ""))[:64], "seq": state.seq, "deleted": body is None,
            "kind": str(own.get("kind") or "")[:20], "at": at.astimezone(dt.timezone.utc) if at else None,
            "created_by": str(own.get("created_by") or "")[:255] or None,
            "body": json.dumps(own, ensure_ascii=False)}


def _bodies(conn: sa.Connection, db_name: str, doc_ids: list[str]) -> dict[str, dict]:
    """{doc id: the winning revision's fields} of these documents (the deleted ones left out)."""
    db_id = conn.execute(sa.select(databases.c.id).where(databases.c.name == db_name)).scalar()
    out: dict[str, dict] = {}
    if db_id is None:
        return out
    for start in range(0, len(doc_ids), CHUNK):
        rows = conn.execute(
            sa.select(documents.c.doc_id, revisions.c.body)
            .join(revisions, sa.and_(revisions.c.db_id == documents.c.db_id, revisions.c.doc_id == documents.c.doc_id,
                                     revisions.c.rev == documents.c.winning_rev))
            .where(documents.c.db_id == db_id, documents.c.doc_id.in_(doc_ids[start:start + CHUNK]),
                   documents.c.deleted.is_(False))).all()
        out.update({doc_id: loads_stored(text) for doc_id, text in rows if text})
    return out


def _derive(conn: sa.Connection, db_name: str, matter_ids: set[str], terms: stages.Terms,
            known: dict[str, dict] | None = None, numbered: dict[str, tuple[str, dt.date]] | None = None) -> None:
    """Derive the state of these matters: the dispute as it stands (`known`, else read from the
    store: its own accepted_at / resolved_at and parties count) and its steps."""
    rows = []
    known = dict(known or {})
    known.update(_bodies(conn, db_name, sorted(set(matter_ids) - set(known))))
    ids = sorted(matter_ids)
    registered = {m: Registered(area, day) for m, (area, day) in (numbered or {}).items()}
    their_steps: dict[str, list] = {m: [] for m in ids}  # read for the whole batch, not per matter
    unread = [m for m in ids if m not in registered]
    for start in range(0, len(unread), CHUNK):
        registered.update((r.doc_id, Registered(r.area, r.registered_on)) for r in conn.execute(
            sa.select(numbers.c.doc_id, numbers.c.area, numbers.c.registered_on).where(
                numbers.c.db_name == db_name, numbers.c.doc_id.in_(unread[start:start + CHUNK]))))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for matter_id, doc_id, seq, body in conn.execute(
                sa.select(steps.c.matter_id, steps.c.doc_id, steps.c.seq, steps.c.body).where(
                    steps.c.db_name == db_name, steps.c.matter_id.in_(chunk), steps.c.deleted.is_(False))):
            their_steps[matter_id].append({**json.loads(body), "_id": doc_id, "_seq": seq})
    for matter_id in ids:
        found = registered.get(matter_id)
        if found is None:
            continue  # steps of a matter the server does not have: nothing to derive
        body = known.get(matter_id) or {}
        matter = {**body, "type": DISPUTE, "area": found.area}
        life = stages.derive(matter, found.registered_on, their_steps[matter_id], terms)
        rows.append({"db_name": db_name, "doc_id": matter_id, "area": found.area, "stage": life.stage,
                     "finished": life.finished, "registered_on": life.registered_on,
                     "accept_due": life.accept_due, "decided_on": life.decided_on,
                     "accepted_on": life.accepted_on, "handle_due": life.handle_due,
                     "extended_days": life.extended_days, "replied_on": life.replied_on,
                     "evaluation": life.evaluation, "finished_on": life.finished_on,
                     "reopened": life.reopened, "party_key": figures.party_key(body),
                     "unit_due": life.unit_due, "unit_acted_on": life.unit_acted_on})
    upsert(conn, states, rows, ("db_name", "doc_id"))


def projection(app: Flask):
    terms = terms_of(app.config)

    def project(conn: sa.Connection, db_name: str, written: list[DocumentState]) -> None:
        disputes = [(s.doc_id, s.body, s.seq) for s in written if s.type == DISPUTE]
        numbered = _number(conn, db_name, disputes, received_now=True) if disputes else {}
        ours = [s for s in written if s.type == STEP or s.written_type == STEP or (s.deleted and s.written_type is None)]
        old = {}
        if ours:
            ids = [s.doc_id for s in ours]
            for start in range(0, len(ids), CHUNK):
                old.update(conn.execute(sa.select(steps.c.doc_id, steps.c.matter_id).where(
                    steps.c.db_name == db_name, steps.c.doc_id.in_(ids[start:start + CHUNK]))).all())
        rows = [row for row in (_step_row(db_name, s, old.get(s.doc_id)) for s in ours
                                if s.type == STEP or s.doc_id in old) if row]
        upsert(conn, steps, rows, ("db_name", "doc_id"), only_if_newer="seq")
        affected = {d[0] for d in disputes} | {r["matter_id"] for r in rows}
        if affected:
            _derive(conn, db_name, affected, terms, {d[0]: d[1] for d in disputes if d[1]}, numbered)

    return project
