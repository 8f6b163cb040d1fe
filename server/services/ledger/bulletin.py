"""The bulletins (月通报, 季讲评, 年考核): per child area (a district's townships) the figures of a
month, a quarter or a year, a score, the ranking, and the change on the previous period and on the
same period a year earlier. The figures are the ledger's own, counted by the rules already written
for them: the rounds' on-time rate (`rounds.status_counts`) and the matters' figures
(`matters.figures.counts_by_area`).

The score (综合得分) is the mean, in percent, of the scored rates an area has a denominator for; an
area with none has no score and no rank. Equal scores share a rank (1, 2, 2, 4).
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from schemas._formats import FIRST_YEAR, LAST_YEAR

from server.services.calendar.status import LATE, ON_TIME, OPEN
from server.services.ledger import areas, rounds
from server.services.ledger.room import child_length
from server.services.matters import figures as matter_figures

MONTH, QUARTER, YEAR = "month", "quarter", "year"
KINDS = (MONTH, QUARTER, YEAR)
_PATTERNS = {MONTH: re.compile(r"(\d{4})-(\d{2})"), QUARTER: re.compile(r"(\d{4})[Qq]([1-4])"), YEAR: re.compile(r"(\d{4})")}


@dataclass(frozen=True)
class Period:
    kind: str
    year: int
    part: int  # the month (1-12), the quarter (1-4), or 1 for a year

    @property
    def label(self) -> str:
        return {MONTH: f"{self.year}-{self.part:02d}", QUARTER: f"{self.year}Q{self.part}", YEAR: f"{self.year}"}[self.kind]

    @property
    def since(self) -> dt.date:
        month = {MONTH: self.part, QUARTER: 3 * self.part - 2, YEAR: 1}[self.kind]
        return dt.date(self.year, month, 1)

    @property
    def until(self) -> dt.date:
        months = {MONTH: 1, QUARTER: 3, YEAR: 12}[self.kind]
        month = self.since.month + months
        return dt.date(self.year + (month > 12), (month - 1) % 12 + 1, 1) - dt.timedelta(days=1)

    def previous(self) -> "Period":
        if self.kind == YEAR or self.part == 1:
            return Period(self.kind, self.year - 1, {MONTH: 12, QUARTER: 4, YEAR: 1}[self.kind])
        return Period(self.kind, self.year, self.part - 1)

    def a_year_earlier(self) -> "Period":
        return Period(self.kind, self.year - 1, self.part)


def parse_period(text: str | None, today: dt.date, kind: str = MONTH) -> Period:
    """`YYYY-MM`, `YYYYQn` or `YYYY` (1901 to 2100); empty: the last whole period of `kind` before
    today. ValueError for anything else."""
    if not text:
        current = Period(kind, today.year, {MONTH: today.month, QUARTER: (today.month - 1) // 3 + 1, YEAR: 1}[kind])
        return current.previous()
    for each, pattern in _PATTERNS.items():
        found = pattern.fullmatch(text) if text.isascii() else None
        if found:
            year, part = int(found.group(1)), int(found.group(2)) if found.lastindex == 2 else 1
            if not FIRST_YEAR < year <= LAST_YEAR or not 1 <= part <= 12:
                break
            return Period(each, year, part)
    raise ValueError(f"not a month (YYYY-MM), a quarter (YYYYQn) or a year (YYYY) from {FIRST_YEAR + 1} to {LAST_YEAR}: {text!r}")


@dataclass(frozen=True)
class Figure:
    key: str
    name: tuple[str, str]  # (zh, en)
    definition: tuple[str, str]
    scored: bool
    matter: str | None = None  # the matters' figure it is (None: the rounds')


FIGURES = (
    Figure("rounds_on_time", ("排查按期率", "Rounds on time"),
           ("本期到期的各级排查轮次中按时报送的比例（未到期的不计）。",
            "Of the rounds due in the period (not those still open), the share submitted on time."), True),
    Figure("accept_timely", ("及时受理率", "Timely acceptance"), ("", ""), True, "accept_timely"),
    Figure("reply_on_time", ("按期答复率", "Replies on time"), ("", ""), False, "reply_on_time"),
    Figure("close_on_time", ("按期办结率", "Closed on time"), ("", ""), True, "close_on_time"),
    Figure("public_satisfaction", ("群众满意率", "Satisfaction"), ("", ""), True, "public_satisfaction"),
    Figure("one_time", ("一次性化解率", "One-time resolution"), ("", ""), True, "one_time"),
    Figure("repeat", ("重复信访率", "Repeat rate"), ("", ""), False, "repeat"),
    Figure("registered", ("新增事项", "New matters"),
           ("本期登记的矛盾纠纷事项数。", "Matters registered in the period."), False, "resolution"),
)
BY_KEY = {f.key: f for f in FIGURES}
MATTER_KEYS = tuple(f.matter for f in FIGURES if f.matter)


def words(figure: Figure, lang: str, *, accept_days: int, handle_days: int) -> tuple[str, str]:
    """(name, definition) in the page's language (the matters' figures: their own definition)."""
    i = 1 if lang == "en" else 0
    if figure.matter and figure.key != "registered":
        spec = matter_figures.BY_KEY[figure.matter]
        return figure.name[i], matter_figures.definition(spec, accept_days=accept_days, handle_days=handle_days)
    return figure.name[i], figure.definition[i]


def _empty() -> dict:
    return {"num": 0, "den": 0, "rate": None}


def _measure(database, area: str, period: Period, today: dt.date, length: int) -> dict[str, dict[str, dict]]:
    """{code: {figure: {num, den, rate}}} for each child area (and the area itself when it has any)."""
    out: dict[str, dict[str, dict]] = defaultdict(lambda: {f.key: _empty() for f in FIGURES})
    matter = matter_figures.counts_by_area(database, area, period.since, period.until, today, length, keys=MATTER_KEYS)
    for code, values in matter.items():
        for f in FIGURES:
            if f.matter:
                out[code][f.key] = dict(values[f.matter])
    due = Counter()
    on_time = Counter()
    if period.since <= today:
        for code, counts in rounds.status_counts(area, period.since, min(period.until, today),
                                                  due_in_window=True).items():
            key = code[:length] if len(code) >= length else code
            due[key] += sum(n for status, n in counts.items() if status != OPEN)
            on_time[key] += counts[ON_TIME]
    for code in due:
        out[code]["rounds_on_time"] = {"num": on_time[code], "den": due[code],
                                       "rate": matter_figures.rate(on_time[code], due[code])}
    for values in out.values():
        registered = values["registered"]
        values["registered"] = {"num": registered["den"], "den": registered["den"], "rate": None}
    return out


def score(values: dict[str, dict]) -> float | None:
    rates = [values[f.key]["rate"] for f in FIGURES if f.scored and values[f.key]["rate"] is not None]
    return round(sum(rates) / len(rates) * 100, 1) if rates else None


def ranks(scores: dict[str, float | None]) -> dict[str, int]:
    ordered = sorted((s for s in scores.values() if s is not None), reverse=True)
    return {code: ordered.index(s) + 1 for code, s in scores.items() if s is not None}


@dataclass
class Row:
    code: str
    name: str
    values: dict
    score: float | None
    rank: int | None
    previous_score: float | None
    previous_rank: int | None
    last_year_score: float | None

    @property
    def change_previous(self) -> float | None:
        return None if self.score is None or self.previous_score is None else round(self.score - self.previous_score, 1)

    @property
    def change_last_year(self) -> float | None:
        return None if self.score is None or self.last_year_score is None else round(self.score - self.last_year_score, 1)

    @property
    def rank_change(self) -> int | None:
        """Places gained since the previous period (negative: lost)."""
        return None if self.rank is None or self.previous_rank is None else self.previous_rank - self.rank


@dataclass
class Bulletin:
    area: str
    period: Period
    previous: Period
    last_year: Period
    rows: list[Row]  # by rank, unranked last
    totals: dict = field(default_factory=dict)  # {figure: {"now", "previous", "last_year"}: {num, den, rate}}


def _total(by_code: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for f in FIGURES:
        num = sum(v[f.key]["num"] for v in by_code.values())
        den = sum(v[f.key]["den"] for v in by_code.values())
        out[f.key] = {"num": num, "den": den, "rate": None if f.key == "registered" else matter_figures.rate(num, den)}
    return out


def bulletin(database, area: str, period: Period, today: dt.date) -> Bulletin:
    """The bulletin of `area` (inside the handle's scope) for `period`: its child areas ranked."""
    length = child_length(area)
    previous, last_year = period.previous(), period.a_year_earlier()
    now, before, year_ago = (_measure(database, area, p, today, length) for p in (period, previous, last_year))
    children = [(code, name) for code, name, _ in areas.under(area) if len(code) == length]
    if area and any(v["den"] or v["num"] for v in now.get(area, {}).values()):  # the area's own (区本级)
        children.append((area, ""))
    scores = {code: score(now[code]) if code in now else None for code, _ in children}
    before_scores = {code: score(before[code]) if code in before else None for code, _ in children}
    rank_now, rank_before = ranks(scores), ranks(before_scores)
    rows = [Row(code=code, name=name, values=now[code] if code in now else {f.key: _empty() for f in FIGURES},
                score=scores[code], rank=rank_now.get(code), previous_score=before_scores[code],
                previous_rank=rank_before.get(code),
                last_year_score=score(year_ago[code]) if code in year_ago else None) for code, name in children]
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.code))
    totals = {f.key: {"now": t_now[f.key], "previous": t_before[f.key], "last_year": t_year[f.key]}
              for t_now, t_before, t_year in [(_total(now), _total(before), _total(year_ago))] for f in FIGURES}
    return Bulletin(area=area, period=period, previous=previous, last_year=last_year, rows=rows, totals=totals)


def change_points(now: float | None, before: float | None) -> float | None:
    return matter_figures.change_points(now, before)


#: The export's columns, after 排名, 区域代码, 区域, 综合得分, 较上期, 较去年同期: each figure's rate (or count).
def export_rows(result: Bulletin) -> list[list]:
    out = []
    for r in result.rows:
        cells = [r.rank or "", r.code, r.name, "" if r.score is None else r.score,
                 "" if r.change_previous is None else r.change_previous,
                 "" if r.change_last_year is None else r.change_last_year]
        for f in FIGURES:
            v = r.values[f.key]
            if f.key == "registered":
                cells.append(v["num"])
            else:
                cells.append("" if v["rate"] is None else round(v["rate"] * 100, 1))
                cells.append(f"{v['num']}/{v['den']}")
        out.append(cells)
    return out
