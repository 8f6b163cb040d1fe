"""The ledger's figures, each counted once, in SQL: the rounds' completion and on-time rates per
level and month (`calendar_rounds`), and the dispute figures (`ledger_records`):

    timely_acceptance   registered in the window; accepted within `accept_days` of registration
    on_time_resolution  registered in the window; resolved within `resolve_days` of acceptance
                        (of registration, if never accepted)
    one_time_rate       resolved in the window; resolved at the first attempt
    satisfaction_rate   resolved in the window with a satisfaction recorded; satisfied or basically

`metric_sql` is each rule, as (in the denominator, counts in the numerator); the page listing the
disputes behind a figure reads the same expressions.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import sqlalchemy as sa

from schemas.vocabulary import SATISFIED

from server.core.models import as_utc
from server.services.calendar.periods import start_of_day
from server.services.calendar.status import LATE, ON_TIME, OPEN
from server.services.ledger.areas import engine
from server.services.ledger.disputes import fact, live_records
from server.services.ledger.index import DISPUTE
from server.services.ledger.rounds import status_counts
from server.services.ledger.tables import records
from server.services.ledger.windows import end_of

_LEVEL_ORDER = {level: i for i, level in enumerate(("village", "township", "district", "quarterly"))}
DISPUTE_METRICS = ("timely_acceptance", "on_time_resolution", "one_time_rate", "satisfaction_rate")
_DAY_US = 86400 * 10 ** 6


def rate(num: int, den: int) -> float | None:
    return None if not den else num / den


def metric_sql(metric: str, since: dt.date, until: dt.date, *, accept_days: int, resolve_days: int):
    """(in the denominator, counts in the numerator) of a dispute figure, as SQL over ledger_records."""
    d = records.c
    lo, hi = as_utc(start_of_day(since)), as_utc(end_of(until))
    created_in = sa.and_(d.created_at.is_not(None), d.created_at >= lo, d.created_at < hi)
    resolved_in = sa.and_(d.resolved_at.is_not(None), d.resolved_at >= lo, d.resolved_at < hi)
    if metric == "timely_acceptance":
        return created_in, sa.and_(d.accept_us.is_not(None), d.accept_us <= accept_days * _DAY_US)
    if metric == "on_time_resolution":
        return created_in, sa.and_(d.resolve_us.is_not(None), d.resolve_us <= resolve_days * _DAY_US)
    if metric == "one_time_rate":
        return resolved_in, d.one_time_resolution == sa.true()
    if metric == "satisfaction_rate":
        return (sa.and_(resolved_in, d.satisfaction.is_not(None), d.satisfaction != ""),
                d.satisfaction.in_(SATISFIED))
    raise ValueError(metric)


def dispute_figures(database, area: str, since: dt.date, until: dt.date, *, accept_days: int,
                    resolve_days: int) -> dict:
    """{metric: {num, den, rate}}, counted in one SQL statement."""
    columns = []
    for metric in DISPUTE_METRICS:
        den, num = metric_sql(metric, since, until, accept_days=accept_days, resolve_days=resolve_days)
        columns += [sa.func.coalesce(sa.func.sum(sa.case((den, 1), else_=0)), 0),
                    sa.func.coalesce(sa.func.sum(sa.case((sa.and_(den, num), 1), else_=0)), 0)]
    with database.store.reading() as conn:
        row = conn.execute(sa.select(*columns).select_from(records).where(*live_records(database, DISPUTE, area))).one()
    out = {}
    for i, metric in enumerate(DISPUTE_METRICS):
        den, num = int(row[2 * i]), int(row[2 * i + 1])
        out[metric] = {"num": num, "den": den, "rate": rate(num, den)}
    return out


def dispute_members(database, area: str, metric: str, since: dt.date, until: dt.date, *, accept_days: int,
                    resolve_days: int, offset: int = 0, limit: int = 50) -> list[tuple[dict, bool]]:
    """One page (id order) of the disputes behind a figure, each with whether it counts."""
    den, num = metric_sql(metric, since, until, accept_days=accept_days, resolve_days=resolve_days)
    counts = sa.case((num, 1), else_=0).label("counts_in_numerator")
    query = (sa.select(records, counts).where(*live_records(database, DISPUTE, area, den))
             .order_by(records.c.doc_id).offset(offset).limit(limit))
    with database.store.reading() as conn:
        return [(fact(r), bool(r.counts_in_numerator)) for r in conn.execute(query)]


def _local_month(column):
    """YYYY-MM of a UTC timestamp column in Asia/Shanghai (UTC+8 all year: no DST since 1991)."""
    if engine().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column, "+8 hours")


def dispute_months(database, area: str, since: dt.date, until: dt.date) -> dict[str, dict[str, int]]:
    """{month: {"registered": n, "resolved": n}} for the window (Asia/Shanghai months), in SQL."""
    d = records.c
    lo, hi = as_utc(start_of_day(since)), as_utc(end_of(until))
    out: dict[str, dict[str, int]] = defaultdict(dict)
    with database.store.reading() as conn:
        for key, column in (("registered", d.created_at), ("resolved", d.resolved_at)):
            month = _local_month(column)
            query = (sa.select(month, sa.func.count())
                     .where(*live_records(database, DISPUTE, area, column >= lo, column < hi)).group_by(month))
            for m, n in conn.execute(query):
                out[m][key] = n
    return out


def figures(database, area: str, since: dt.date, until: dt.date, *, accept_days: int, resolve_days: int) -> dict:
    """The figures page: per level, the rounds' completion and on-time rates; the dispute figures;
    and per month (Asia/Shanghai) the rounds due and their on-time rate, the disputes registered
    and resolved."""
    # The rounds due in the window: a round falling due after it is the next window's.
    by_level_due = status_counts(area, since, until, by=("level", "due_date"), due_in_window=True)
    levels: dict[str, Counter] = defaultdict(Counter)
    for (level, _due), counts in by_level_due.items():
        levels[level].update(counts)
    per_level = {}
    # Village first, as the calendar's levels go (not the alphabet's district, quarterly, township, village).
    for level, counts in sorted(levels.items(), key=lambda item: _LEVEL_ORDER.get(item[0], len(_LEVEL_ORDER))):
        total = sum(n for st, n in counts.items() if st != OPEN)
        submitted = counts[ON_TIME] + counts[LATE]
        per_level[level] = {"total": total, "submitted": submitted, "on_time": counts[ON_TIME],
                            "completion": rate(submitted, total), "on_time_rate": rate(counts[ON_TIME], total)}
    metrics = dispute_figures(database, area, since, until, accept_days=accept_days, resolve_days=resolve_days)
    trend: dict[str, dict] = defaultdict(lambda: {"rounds": 0, "on_time": 0, "registered": 0, "resolved": 0})
    for (_level, due), counts in by_level_due.items():
        m = trend[_as_date(due).strftime("%Y-%m")]
        m["rounds"] += sum(n for st, n in counts.items() if st != OPEN)
        m["on_time"] += counts[ON_TIME]
    for month, counts in dispute_months(database, area, since, until).items():
        for key, n in counts.items():
            trend[month][key] += n
    # Rounds of the window fall due up to a few days after it (the quarter's round-up): the trend
    # keeps to the window's months.
    months = [m for m in sorted(trend) if since.strftime("%Y-%m") <= m <= until.strftime("%Y-%m")]
    for m in months:
        trend[m]["on_time_rate"] = rate(trend[m]["on_time"], trend[m]["rounds"])
    return {"levels": per_level, "metrics": metrics, "trend": [(m, trend[m]) for m in months]}


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
