"""Supervision notices (督办) as the ledger and the field app list them, with their derived state:
SQL on `ledger_records` (a notice's row and its replies' rows, index.py), restricted to the viewer's
scope and the requested area like every ledger list (`disputes.live_records`).

A notice's state (`schemas.vocabulary.NOTICE_STATES`) is its written status (issued, closed,
withdrawn), except that an issued notice is `replied` once it has a reply, else `overdue` once the
day (Asia/Shanghai) is after its deadline. Derived here, in SQL, at the moment asked: never written.
A reply answers the notice it names only from the notice's own area (the write rules cannot see the
notice, so a reply a phone files in another area counts nowhere).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from schemas.vocabulary import (NOTICE_CLOSED, NOTICE_ISSUED, NOTICE_OVERDUE, NOTICE_REPLIED, NOTICE_STATES,
                                NOTICE_WITHDRAWN)

from sync.sql import scope_clause

from server.core.clock import SHANGHAI
from server.core.models import as_utc
from server.services.ledger.disputes import live_records
from server.services.ledger.index import NOTICE, REPLY
from server.services.ledger.tables import records

#: The states the per-area count table shows, in its column order.
COUNTED_STATES = (NOTICE_ISSUED, NOTICE_REPLIED, NOTICE_OVERDUE, NOTICE_CLOSED)
#: Not a state but a filter: every notice still open (neither closed nor withdrawn).
OPEN = "open"
OPEN_STATES = (NOTICE_ISSUED, NOTICE_REPLIED, NOTICE_OVERDUE)


@dataclass(frozen=True)
class NoticeRow:
    id: str
    area: str
    subject: str | None
    deadline: str | None
    status: str | None
    state: str
    kind: str | None
    priority: str | None
    created_at: dt.datetime | None
    created_by: str | None
    dispute_id: str | None
    replies: int
    first_reply_at: dt.datetime | None

    @property
    def replied_late(self) -> bool:
        """The first reply came after the deadline's day (逾期后答复)."""
        return late(self.deadline, self.first_reply_at)


def late(deadline: str | None, replied_at: dt.datetime | None) -> bool:
    if not deadline or replied_at is None:
        return False
    try:
        return replied_at.astimezone(SHANGHAI).date() > dt.date.fromisoformat(deadline)
    except ValueError:
        return False


def _replies(notice) -> list:
    """WHERE conditions for the live replies that answer `notice` (a `ledger_records` alias)."""
    r = records.c
    return [r.db_name == notice.c.db_name, r.type == REPLY, r.deleted == sa.false(),
            r.link_id == notice.c.doc_id, r.area == notice.c.area]


def _state(notice, today: dt.date):
    """The derived state of the notice rows of `notice`, as an SQL expression. Deadlines are
    YYYY-MM-DD (the schema's), so comparing them as text compares the days."""
    d = notice.c
    has_reply = sa.exists(sa.select(sa.literal(1)).where(*_replies(notice)))
    return sa.case(
        (d.status == NOTICE_WITHDRAWN, NOTICE_WITHDRAWN),
        (d.status == NOTICE_CLOSED, NOTICE_CLOSED),
        (has_reply, NOTICE_REPLIED),
        (d.deadline < today.isoformat(), NOTICE_OVERDUE),
        else_=NOTICE_ISSUED,
    )


def _listed(database, area: str, today: dt.date, dispute_id: str | None = None, exact: bool = False):
    """A subquery of the notices under `area` (`exact`: to `area` itself) with their state, replies
    count and first reply."""
    notice = records.alias("notice")
    d = notice.c
    conds = _live_notices(database, notice, area)
    if dispute_id is not None:
        conds.append(d.link_id == dispute_id)
    if exact:
        conds.append(d.area == area)
    replies = sa.select(sa.func.count()).where(*_replies(notice)).scalar_subquery()
    first = sa.select(sa.func.min(records.c.replied_at)).where(*_replies(notice)).scalar_subquery()
    return sa.select(
        d.doc_id, d.area, d.summary, d.deadline, d.status, d.kind, d.priority, d.created_at, d.created_by,
        d.link_id, _state(notice, today).label("state"), replies.label("replies"), first.label("first_reply_at"),
    ).where(*conds).subquery("notices")


def _live_notices(database, notice, area: str) -> list:
    """`disputes.live_records` for notices, on an alias of the table (its replies are the table's)."""
    d = notice.c
    conds = [d.db_name == database.name, d.type == NOTICE, d.deleted == sa.false()]
    for clause in (scope_clause(d.area, database.access.read_prefixes), scope_clause(d.area, (area,)) if area else None):
        if clause is not None:
            conds.append(clause)
    return conds


def _row(r) -> NoticeRow:
    return NoticeRow(id=r.doc_id, area=r.area, subject=r.summary, deadline=r.deadline, status=r.status,
                     state=r.state, kind=r.kind, priority=r.priority, created_at=as_utc(r.created_at),
                     created_by=r.created_by, dispute_id=r.link_id, replies=int(r.replies or 0),
                     first_reply_at=as_utc(r.first_reply_at))


def _filtered(listed, state: str | None, kind: str | None) -> list:
    conds = []
    if state == OPEN:
        conds.append(listed.c.state.in_(OPEN_STATES))
    elif state is not None:
        conds.append(listed.c.state == state)
    if kind is not None:
        conds.append(listed.c.kind == kind)
    return conds


#: The orders the notices list offers (the id breaks ties); its own is newest first.
SORT_KEYS = ("created", "area", "kind", "priority", "deadline", "state", "replies")


def notice_page(database, area: str, today: dt.date, *, state: str | None = None, kind: str | None = None,
                exact: bool = False, sort: str = "created", descending: bool = True,
                offset: int = 0, limit: int = 50) -> list[NoticeRow]:
    """One page of the notices under `area` (`exact`: to `area` itself), newest first (or in
    `sort` order, then by id)."""
    if sort not in SORT_KEYS:
        raise ValueError(sort)
    listed = _listed(database, area, today, exact=exact)
    column = {"created": listed.c.created_at, "area": listed.c.area, "kind": listed.c.kind,
              "priority": listed.c.priority, "deadline": listed.c.deadline, "state": listed.c.state,
              "replies": listed.c.replies}[sort]
    order = (column.desc(), listed.c.doc_id) if descending else (column, listed.c.doc_id)
    query = (sa.select(listed).where(*_filtered(listed, state, kind))
             .order_by(*order).offset(offset).limit(limit))
    with database.store.reading() as conn:
        return [_row(r) for r in conn.execute(query)]


def notice_count(database, area: str, today: dt.date, *, state: str | None = None, kind: str | None = None,
                 exact: bool = False) -> int:
    listed = _listed(database, area, today, exact=exact)
    query = sa.select(sa.func.count()).select_from(listed).where(*_filtered(listed, state, kind))
    with database.store.reading() as conn:
        return int(conn.execute(query).scalar() or 0)


def counts_by_area(database, area: str, today: dt.date, child_length: int, *,
                   kind: str | None = None) -> dict[str, dict[str, int]]:
    """{child area code: {state: number of notices}} for the notices under `area`, each counted in
    the child area (of `child_length` digits) it lies in; a notice to `area` itself is counted under
    `area`. Every state of NOTICE_STATES is a key (0 when none)."""
    listed = _listed(database, area, today)
    code = sa.case((sa.func.length(listed.c.area) >= child_length,
                    sa.func.substr(listed.c.area, 1, child_length)), else_=listed.c.area)
    query = (sa.select(code.label("code"), listed.c.state, sa.func.count())
             .where(*_filtered(listed, None, kind)).group_by(code, listed.c.state))
    out: dict[str, dict[str, int]] = {}
    with database.store.reading() as conn:
        for child, state, n in conn.execute(query):
            out.setdefault(child, dict.fromkeys(NOTICE_STATES, 0))[state] = int(n)
    return out


def notices_of_dispute(database, dispute_id: str, today: dt.date) -> list[NoticeRow]:
    """Every notice (the viewer may see) about one dispute, oldest first: its file shows them all."""
    listed = _listed(database, "", today, dispute_id=dispute_id)
    query = sa.select(listed).order_by(listed.c.created_at, listed.c.doc_id).limit(200)
    with database.store.reading() as conn:
        return [_row(r) for r in conn.execute(query)]


def notice_state(database, notice_id: str, today: dt.date) -> NoticeRow | None:
    """One notice's row with its derived state (None: not a live notice the viewer may see)."""
    listed = _listed(database, "", today)
    with database.store.reading() as conn:
        row = conn.execute(sa.select(listed).where(listed.c.doc_id == notice_id)).first()
    return _row(row) if row is not None else None


def reply_ids(database, notice_id: str, area: str) -> list[str]:
    """The ids of the live replies that answer the notice (from its own area), in reply order."""
    r = records.c
    query = (sa.select(r.doc_id).where(*live_records(database, REPLY, area, r.link_id == notice_id, r.area == area))
             .order_by(r.replied_at, r.created_at, r.doc_id).limit(500))
    with database.store.reading() as conn:
        return list(conn.execute(query).scalars())
