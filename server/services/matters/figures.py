"""The figures an office is measured by (考核指标), from the matters' derived facts (`matter_states`):
each defined once here, as its words (the one line the page shows) and its SQL (in the denominator,
counts in the numerator), so the number and the list of the records behind it are the same count.

A period is a span of Asia/Shanghai days [since, until]; "today" is the day the figure is read.
Each matter counts in one period per figure: the acceptance, reply and closing figures count a
matter in the period of its decision, reply or closing when that came on time, else in the period
its deadline passed (a deadline not yet passed, with nothing done, is not counted yet).

A dispute recorded before steps existed counts its own accepted_at, resolved status (resolved_at)
and satisfaction (`stages.derive`).

重复信访率 is keyed on the main party's phone number (the first applicant, else the first party):
names are written in many ways and shared by many people, so a name is no reliable key; a matter
whose main party has no phone number is never a repeat. The key is kept as a hash
(`party_key`), not the number itself.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Mapping

import sqlalchemy as sa

from schemas.vocabulary import SATISFIED

from server.services.ledger.areas import engine
from server.services.ledger.disputes import fact, live_records
from server.services.ledger.tables import records
from server.services.matters.tables import numbers, states

DISPUTE = "dispute"
CLOSED = ("closed", "concluded")
NOT_OURS = ("rejected", "transferred")  # no reply nor closing owed by this office any more
REPEAT_MONTHS = 12
PARTS = ("den", "num")


@dataclass(frozen=True)
class Figure:
    key: str
    name: str  # the offices' word
    definition: str  # one line, Chinese: denominator; numerator; deadline ({accept_days}, {handle_days})


FIGURES = (
    Figure("accept_timely", "及时受理率",
           "分母：受理期限（登记之日起{accept_days}日）在本期届满，或在期限内于本期作出受理/不予受理决定的事项；"
           "分子：其中在受理期限内作出受理或不予受理决定的。"),
    Figure("unit_accept_timely", "责任单位及时受理率",
           "分母：交办后签收办理期限（交办之日起{accept_days}日）在本期届满，或在期限内于本期开始办理的事项；"
           "分子：其中责任单位在期限内有办理或答复记录的（重新交办的，自最近一次交办起算）。"),
    Figure("reply_on_time", "按期答复率",
           "分母：已受理、答复期限（受理之日起{handle_days}日或交办期限，加延期）在本期届满或在期限内于本期答复的事项"
           "（期限届满时已办结、终结、转送而无答复记录的不计）；分子：其中在期限内答复的。"),
    Figure("close_on_time", "按期办结率",
           "分母：已受理、办理期限（受理之日起{handle_days}日或交办期限，加延期）在本期届满或在期限内于本期办结的事项"
           "（不予受理、转送的不计）；分子：其中在期限内办结或终结的（重新办理后未再办结的不算）。"),
    Figure("evaluation_rate", "参评率",
           "分母：本期首次答复的事项；分子：其中有群众评价的。"),
    Figure("evaluated_satisfaction", "参评满意率",
           "分母：本期首次答复且有群众评价的事项；分子：其中最近一次评价为满意或基本满意的。"),
    Figure("public_satisfaction", "群众满意率",
           "分母：本期办结或终结的全部事项；分子：其中最近一次评价为满意或基本满意的（未参评的按不满意计）。"),
    Figure("one_time", "一次性化解率",
           "分母：本期办结或终结的事项；分子：其中从未重新办理的。"),
    Figure("resolution", "化解率",
           "分母：本期登记的事项；分子：其中截至今日已办结或终结的。"),
    Figure("repeat", "重复信访率",
           "分母：本期登记的事项；分子：其主要当事人（第一申请人）的手机号在此前{repeat_months}个月内登记的其他事项中出现过的"
           "（以手机号识别，未登记手机号的不计为重复）。"),
)
BY_KEY = {f.key: f for f in FIGURES}
KEYS = tuple(BY_KEY)


# -- pure helpers ---------------------------------------------------------------------------------------------

def party_key(matter: Mapping[str, Any]) -> str | None:
    """The main party's key: a hash of the phone number's digits (the last 11) of the first
    applicant, else of the first party; None without a usable phone number."""
    parties = [p for p in (matter.get("parties") or []) if isinstance(p, Mapping)]
    main = next((p for p in parties if p.get("role") == "applicant"), parties[0] if parties else None)
    digits = "".join(ch for ch in str((main or {}).get("phone") or "") if ch.isdigit())[-11:]
    if len(digits) < 7:
        return None
    return hashlib.sha256(f"paicha-party:{digits}".encode()).hexdigest()[:32]


def year_before(day: dt.date) -> dt.date:
    """The same day a year earlier (29 February: the 28th)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def last_year(since: dt.date, until: dt.date) -> tuple[dt.date, dt.date]:
    return year_before(since), year_before(until)


def rate(num: int, den: int) -> float | None:
    return None if not den else num / den


def change_points(now: float | None, before: float | None) -> float | None:
    """The change in percentage points (None when either rate has no denominator)."""
    return None if now is None or before is None else round((now - before) * 100, 1)


def definition(figure: Figure, *, accept_days: int, handle_days: int) -> str:
    return figure.definition.format(accept_days=accept_days, handle_days=handle_days, repeat_months=REPEAT_MONTHS)


# -- the rules, in SQL over matter_states (m), its matter_numbers row (n) ---------------------------------------

def _on_time_or_due(done, due):
    """The day a deadline figure counts a matter on: the day it was done, if by the deadline; else
    the deadline."""
    return sa.case((sa.and_(done.is_not(None), done <= due), done), else_=due)


def _year_earlier(column, dialect: str):
    if dialect == "postgresql":
        return column - sa.text(f"interval '{REPEAT_MONTHS} months'")
    return sa.func.date(column, f"-{REPEAT_MONTHS} months")


def rule(key: str, since: dt.date, until: dt.date, today: dt.date, dialect: str = "sqlite"):
    """(in the denominator, counts in the numerator) of a figure, as SQL over matter_states (joined
    to matter_numbers and ledger_records, as `_base` does)."""
    m, n = states.c, numbers.c
    in_period = lambda day: sa.and_(day.is_not(None), day >= since, day <= until)  # noqa: E731
    satisfied = m.evaluation.in_(SATISFIED)
    if key == "accept_timely":
        done = sa.and_(m.decided_on.is_not(None), m.decided_on <= m.accept_due)
        return (sa.and_(in_period(_on_time_or_due(m.decided_on, m.accept_due)),
                        sa.or_(m.decided_on.is_not(None), m.accept_due < today)), done)
    if key == "unit_accept_timely":
        done = sa.and_(m.unit_acted_on.is_not(None), m.unit_acted_on <= m.unit_due)
        return (sa.and_(m.unit_due.is_not(None), in_period(_on_time_or_due(m.unit_acted_on, m.unit_due)),
                        sa.or_(m.unit_acted_on.is_not(None), m.unit_due < today)), done)
    if key == "reply_on_time":
        done = sa.and_(m.replied_on.is_not(None), m.replied_on <= m.handle_due)
        return (sa.and_(m.handle_due.is_not(None), in_period(_on_time_or_due(m.replied_on, m.handle_due)),
                        sa.or_(m.replied_on.is_not(None), sa.and_(m.finished.is_(False), m.handle_due < today)),
                        ), done)
    if key == "close_on_time":
        done = sa.and_(m.finished_on.is_not(None), m.finished_on <= m.handle_due)
        return (sa.and_(m.handle_due.is_not(None), m.stage.not_in(NOT_OURS),
                        in_period(_on_time_or_due(m.finished_on, m.handle_due)),
                        sa.or_(m.finished_on.is_not(None), m.handle_due < today)), done)
    if key == "evaluation_rate":
        return in_period(m.replied_on), m.evaluation.is_not(None)
    if key == "evaluated_satisfaction":
        return sa.and_(in_period(m.replied_on), m.evaluation.is_not(None)), satisfied
    if key == "public_satisfaction":
        return in_period(m.finished_on), satisfied
    if key == "one_time":
        return in_period(m.finished_on), m.reopened == 0
    if key == "resolution":
        return in_period(m.registered_on), m.stage.in_(CLOSED)
    if key == "repeat":
        e, en, er = states.alias("earlier"), numbers.alias("earlier_number"), records.alias("earlier_record")
        earlier = (sa.select(e.c.doc_id)
                   .join(en, sa.and_(en.c.db_name == e.c.db_name, en.c.doc_id == e.c.doc_id))
                   .join(er, sa.and_(er.c.db_name == e.c.db_name, er.c.doc_id == e.c.doc_id))
                   .where(e.c.db_name == m.db_name, e.c.party_key == m.party_key, e.c.doc_id != m.doc_id,
                          er.c.deleted.is_(False),
                          e.c.registered_on >= _year_earlier(m.registered_on, dialect),
                          sa.or_(e.c.registered_on < m.registered_on,
                                 sa.and_(e.c.registered_on == m.registered_on, en.c.received_seq < n.received_seq)))
                   .correlate(states, numbers))
        return in_period(m.registered_on), sa.and_(m.party_key.is_not(None), earlier.exists())
    raise ValueError(key)


def _base(database, area: str, *extra):
    """FROM ledger_records (live disputes in scope and `area`) JOIN matter_states JOIN matter_numbers."""
    d, m, n = records.c, states.c, numbers.c
    joined = (records.join(states, sa.and_(m.db_name == d.db_name, m.doc_id == d.doc_id))
              .join(numbers, sa.and_(n.db_name == d.db_name, n.doc_id == d.doc_id)))
    return joined, live_records(database, DISPUTE, area, *extra)


def counts(database, area: str, since: dt.date, until: dt.date, today: dt.date) -> dict[str, dict]:
    """{figure: {num, den, rate}} for the period, counted in one SQL statement."""
    columns = []
    for key in KEYS:
        den, num = rule(key, since, until, today, engine().dialect.name)
        columns += [sa.func.coalesce(sa.func.sum(sa.case((den, 1), else_=0)), 0),
                    sa.func.coalesce(sa.func.sum(sa.case((sa.and_(den, num), 1), else_=0)), 0)]
    joined, where = _base(database, area)
    with database.store.reading() as conn:
        row = conn.execute(sa.select(*columns).select_from(joined).where(*where)).one()
    out = {}
    for i, key in enumerate(KEYS):
        den, num = int(row[2 * i]), int(row[2 * i + 1])
        out[key] = {"num": num, "den": den, "rate": rate(num, den)}
    return out


def counts_by_area(database, area: str, since: dt.date, until: dt.date, today: dt.date, child_length: int,
                   keys: tuple[str, ...] = KEYS) -> dict[str, dict[str, dict]]:
    """{child area code: {figure: {num, den, rate}}} for the period: each matter counted in the child
    area (of `child_length` digits) it lies in, a matter of `area` itself under `area`; one statement."""
    d = records.c
    code = sa.case((sa.func.length(d.area) >= child_length, sa.func.substr(d.area, 1, child_length)),
                   else_=d.area).label("code")
    columns = []
    for key in keys:
        den, num = rule(key, since, until, today, engine().dialect.name)
        columns += [sa.func.coalesce(sa.func.sum(sa.case((den, 1), else_=0)), 0),
                    sa.func.coalesce(sa.func.sum(sa.case((sa.and_(den, num), 1), else_=0)), 0)]
    joined, where = _base(database, area)
    out: dict[str, dict[str, dict]] = {}
    with database.store.reading() as conn:
        for row in conn.execute(sa.select(code, *columns).select_from(joined).where(*where).group_by(code)):
            out[row[0]] = {key: {"num": int(row[2 + 2 * i]), "den": int(row[1 + 2 * i]),
                                 "rate": rate(int(row[2 + 2 * i]), int(row[1 + 2 * i]))}
                           for i, key in enumerate(keys)}
    return out


def members(database, area: str, key: str, since: dt.date, until: dt.date, today: dt.date, *,
            part: str = "den", offset: int = 0, limit: int = 50) -> list[tuple[dict, bool]]:
    """One page (id order) of the disputes a figure counts: its denominator (`part="den"`, each with
    whether it counts in the numerator) or its numerator (`part="num"`)."""
    if part not in PARTS:
        raise ValueError(part)
    den, num = rule(key, since, until, today, engine().dialect.name)
    joined, where = _base(database, area, den, *((num,) if part == "num" else ()))
    flag = sa.case((num, 1), else_=0).label("counts_in_numerator")
    query = (sa.select(records, flag).select_from(joined).where(*where)
             .order_by(records.c.doc_id).offset(offset).limit(limit))
    with database.store.reading() as conn:
        return [(fact(r), bool(r.counts_in_numerator)) for r in conn.execute(query)]


def report(database, area: str, since: dt.date, until: dt.date, today: dt.date, *, accept_days: int,
           handle_days: int) -> list[dict]:
    """Each figure for the period and the same period a year earlier, with the change in points."""
    before_since, before_until = last_year(since, until)
    now, before = counts(database, area, since, until, today), counts(database, area, before_since, before_until, today)
    return [{"key": f.key, "name": f.name, "definition": definition(f, accept_days=accept_days, handle_days=handle_days),
             "now": now[f.key], "before": before[f.key],
             "change": change_points(now[f.key]["rate"], before[f.key]["rate"]),
             "before_since": before_since, "before_until": before_until} for f in FIGURES]
