"""Reads of the matters' read model for the pages and the API, limited to the handle's scope like
every ledger read (`ledger.disputes.live_records`)."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import sqlalchemy as sa

from sync.sql import scope_clause

from schemas.vocabulary import KEY_RISK_LEVELS, MATTER_STAGES, OPEN_DISPUTE_STATUSES, RISK_LEVELS, STEP_ASSIGN

from server.core.areas import leader_for
from server.core.models import as_utc
from server.services.calendar.periods import start_of_day
from server.services.ledger.windows import end_of
from server.services.ledger.disputes import fact, live_records
from server.services.ledger.tables import records
from server.services.matters import stages
from server.services.matters.tables import numbers, states, steps


def number_of(database, matter_id: str) -> str | None:
    with database.store.reading() as conn:
        return conn.execute(sa.select(numbers.c.number).where(
            numbers.c.db_name == database.name, numbers.c.doc_id == matter_id)).scalar()


def numbers_of(database, matter_ids: list[str]) -> dict[str, str]:
    if not matter_ids:
        return {}
    with database.store.reading() as conn:
        return dict(conn.execute(sa.select(numbers.c.doc_id, numbers.c.number).where(
            numbers.c.db_name == database.name, numbers.c.doc_id.in_(matter_ids))).all())


def _registered(conn, database, matter: dict) -> dt.date:
    found = conn.execute(sa.select(numbers.c.registered_on).where(
        numbers.c.db_name == database.name, numbers.c.doc_id == matter["_id"])).scalar()
    return found or stages.registered_on(matter.get("created_at"), None)


def life(database, matter: dict, terms: stages.Terms) -> stages.Life:
    """The matter's life from the steps the handle's user may see (the matter as read through it)."""
    s = steps.c
    conds = [s.db_name == database.name, s.matter_id == matter["_id"], s.deleted.is_(False)]
    clause = scope_clause(s.area, database.access.read_prefixes)
    if clause is not None:
        conds.append(clause)
    with database.store.reading() as conn:
        rows = conn.execute(sa.select(s.doc_id, s.seq, s.body).where(*conds)).all()
        registered = _registered(conn, database, matter)
    found = [{**json.loads(body), "_id": doc_id, "_seq": seq} for doc_id, seq, body in rows]
    return stages.derive(matter, registered, found, terms)


def pending_overdue(today: dt.date) -> dict:
    """SQL over `matter_states`, per step (accept, handle, reply): still not done on `today` and past
    its deadline (what the calendar reminds)."""
    m = states.c
    return {
        "accept": sa.and_(m.decided_on.is_(None), m.accept_due < today),
        "handle": sa.and_(m.handle_due.is_not(None), m.finished.is_(False), m.handle_due < today),
        "reply": sa.and_(m.handle_due.is_not(None), m.replied_on.is_(None), m.finished.is_(False),
                         m.handle_due < today),
    }


def overdue_clause(today: dt.date):
    """SQL over `matter_states`: anything overdue on `today` (the same rules as `stages.overdue`):
    a step still pending past its deadline, or one done after it."""
    m = states.c
    late = [sa.and_(m.decided_on.is_not(None), m.decided_on > m.accept_due),
            sa.and_(m.handle_due.is_not(None), m.replied_on.is_not(None), m.replied_on > m.handle_due)]
    return sa.or_(*late, *pending_overdue(today).values())


def matter_list(database, area: str, today: dt.date, *, stage: str | None = None, overdue: bool = False,
                offset: int = 0, limit: int = 50) -> list[dict]:
    """The disputes under `area` in `stage` and/or with something overdue on `today`, in id order,
    as the ledger's facts."""
    d, m = records.c, states.c
    extra = [m.db_name == d.db_name]
    if stage:
        extra.append(m.stage == stage)
    if overdue:
        extra.append(overdue_clause(today))
    query = (sa.select(records).join(states, sa.and_(m.db_name == d.db_name, m.doc_id == d.doc_id))
             .where(*live_records(database, "dispute", area, *extra)).order_by(d.doc_id).offset(offset).limit(limit))
    with database.store.reading() as conn:
        return [fact(r) for r in conn.execute(query)]


def stages_of(database, matter_ids: list[str]) -> dict[str, str]:
    if not matter_ids:
        return {}
    with database.store.reading() as conn:
        return dict(conn.execute(sa.select(states.c.doc_id, states.c.stage).where(
            states.c.db_name == database.name, states.c.doc_id.in_(matter_ids))).all())


@dataclass(frozen=True)
class Leader:
    name: str
    area: str | None  # None: the matter's own (its latest 交办 names one); else the area whose leader it falls to


def leader(database, matter: dict, life: stages.Life) -> Leader | None:
    """The matter's 包案领导: the one its latest counted 交办 names, else its area's (or the nearest
    enclosing area's)."""
    for step, refusal in reversed(life.trail):
        if refusal is None and step.get("kind") == STEP_ASSIGN and step.get("leader"):
            return Leader(step["leader"], None)
    with database.store.reading() as conn:
        found = leader_for(conn, str(matter.get("area") or ""))
    return Leader(*found) if found else None


@dataclass(frozen=True)
class Related:
    id: str
    number: str | None
    area: str
    registered_on: dt.date
    stage: str
    category: str | None
    same_subject: bool  # the same category as the matter


def repeats(database, matter_id: str, *, limit: int = 20) -> tuple[list[Related], int]:
    """The other live matters of the same main party (the phone number's key, as 重复信访 counts),
    that the handle's user may see, newest first (at most `limit`), and how many there are."""
    m, d, n = states.c, records.c, numbers.c
    with database.store.reading() as conn:
        key = conn.execute(sa.select(m.party_key).where(m.db_name == database.name, m.doc_id == matter_id)).scalar()
        if key is None:
            return [], 0
        own_category = conn.execute(sa.select(d.category).where(
            d.db_name == database.name, d.doc_id == matter_id)).scalar()
        joined = (records.join(states, sa.and_(m.db_name == d.db_name, m.doc_id == d.doc_id))
                  .join(numbers, sa.and_(n.db_name == d.db_name, n.doc_id == d.doc_id)))
        where = live_records(database, "dispute", "", m.party_key == key, d.doc_id != matter_id)
        total = conn.execute(sa.select(sa.func.count()).select_from(joined).where(*where)).scalar() or 0
        rows = conn.execute(sa.select(d.doc_id, n.number, d.area, m.registered_on, m.stage, d.category)
                            .select_from(joined).where(*where)
                            .order_by(m.registered_on.desc(), n.received_seq.desc()).limit(limit)).all()
    return [Related(r.doc_id, r.number, r.area, r.registered_on, r.stage, r.category,
                    r.category is not None and r.category == own_category) for r in rows], total


def collective(matter: dict, least_people: int) -> bool:
    """A collective matter (集体): `people_involved` of at least `least_people`."""
    people = matter.get("people_involved")
    return isinstance(people, int) and not isinstance(people, bool) and people >= least_people


@dataclass(frozen=True)
class MatterFilters:
    """What a list of matters (the disputes page and its exports) is cut to; None/False: any."""
    status: str | None = None
    risk: str | None = None
    category: str | None = None
    stage: str | None = None
    open_only: bool = False
    key_only: bool = False
    overdue_on: dt.date | None = None  # only those with something overdue on that day
    since: dt.date | None = None  # registered (created) from that day ...
    until: dt.date | None = None  # ... to the end of that day (Asia/Shanghai)


#: The columns a list of matters sorts by (the page's `sort` keys); the document id breaks ties.
SORT_KEYS = ("id", "created", "area", "category", "risk", "status", "stage")


def _sort_column(key: str):
    d, m = records.c, states.c
    if key == "risk":  # by weight, not by the codes' spelling
        return sa.case({r: i for i, r in enumerate(RISK_LEVELS)}, value=d.risk_level, else_=len(RISK_LEVELS))
    if key == "stage":
        return sa.case({s: i for i, s in enumerate(MATTER_STAGES)}, value=m.stage, else_=len(MATTER_STAGES))
    return {"id": d.doc_id, "created": d.created_at, "area": d.area, "category": d.category, "status": d.status}[key]


def filtered_matters(database, area: str, filters: MatterFilters, *, sort: str = "id", descending: bool = False,
                     offset: int = 0, limit: int = 50) -> list[dict]:
    """The disputes under `area` that pass every one of `filters`, in `sort` order (then by id),
    as the ledger's facts: one SQL query, joined to `matter_states` only when a filter or the
    order needs a matter's stage."""
    if sort not in SORT_KEYS:
        raise ValueError(sort)
    d = records.c
    source, where = _filtered(database, area, filters, joined=sort == "stage")
    column = _sort_column(sort)
    order = (column.desc(), d.doc_id.desc()) if descending else (column, d.doc_id)
    query = sa.select(records).select_from(source).where(*where).order_by(*order).offset(offset).limit(limit)
    with database.store.reading() as conn:
        return [fact(r) for r in conn.execute(query)]


def count_matters(database, area: str, filters: MatterFilters) -> int:
    """How many disputes under `area` pass every one of `filters` (the list's count)."""
    source, where = _filtered(database, area, filters)
    with database.store.reading() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(source).where(*where)).scalar() or 0)


def _filtered(database, area: str, filters: MatterFilters, *, joined: bool = False):
    """(FROM, WHERE) of the disputes passing `filters`: `ledger_records`, joined to
    `matter_states` only when a filter (or the order, `joined`) needs a matter's stage."""
    d, m = records.c, states.c
    extra = []
    for column, value in ((d.status, filters.status), (d.risk_level, filters.risk), (d.category, filters.category)):
        if value:
            extra.append(column == value)
    if filters.open_only:
        extra.append(d.status.in_(OPEN_DISPUTE_STATUSES))
    if filters.key_only:
        extra.append(d.risk_level.in_(KEY_RISK_LEVELS))
    if filters.since is not None:
        extra.append(d.created_at >= as_utc(start_of_day(filters.since)))
    if filters.until is not None:
        extra.append(d.created_at < as_utc(end_of(filters.until)))
    source = records
    if filters.stage or filters.overdue_on is not None or joined:
        source = records.join(states, sa.and_(m.db_name == d.db_name, m.doc_id == d.doc_id))
        if filters.stage:
            extra.append(m.stage == filters.stage)
        if filters.overdue_on is not None:
            extra.append(overdue_clause(filters.overdue_on))
    return source, live_records(database, "dispute", area, *extra)
