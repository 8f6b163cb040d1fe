"""The screening calendar as pure functions: periods, due dates, round and reminder ids.

Everything here is a function of dates and configuration (no clock, no database), in the time zone
of the calendar, Asia/Shanghai.

Periods (per level, configurable; see `CalendarConfig`):

    xun          旬: 1–10, 11–20, 21–end of month        village / community (default)
    half_month   1–15, 16–end of month                   township / street office (default)
    month        the calendar month                      district (default)
    quarter      Jan–Mar, Apr–Jun, Jul–Sep, Oct–Dec      quarterly key-dispute round-up (default)

Due date rule: a round is due on `period_end + due_days` (a date; `due_days` per level, default 0,
i.e. the period's last day; 5 for the quarterly round-up, which reviews a finished quarter), and it
is due *until the end of that day* in Asia/Shanghai: a report made at 23:59:59 on the due date is on
time; the round is overdue from 00:00 the next day (`due_instant`).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Iterator, Mapping

from schemas import areas
from schemas.vocabulary import REMINDER_KINDS, ROUND_LEVELS

from server.core.clock import SHANGHAI

PERIOD_KINDS = ("xun", "half_month", "month", "quarter")
# A round's level (screening_round.level): an area level, or the district's quarterly round-up.
LEVELS = ROUND_LEVELS
QUARTERLY = "quarterly"
# Which areas get the rounds of a level (Area.level).
AREA_LEVEL = {areas.VILLAGE: areas.VILLAGE, areas.TOWNSHIP: areas.TOWNSHIP, areas.DISTRICT: areas.DISTRICT,
              QUARTERLY: areas.DISTRICT}
# Whether an overdue round of a level is escalated to the parent area.
ESCALATES = {areas.VILLAGE: True, areas.TOWNSHIP: True, areas.DISTRICT: False, QUARTERLY: False}

DEFAULT_PERIODS = {"village": "xun", "township": "half_month", "district": "month", "quarterly": "quarter"}
DEFAULT_DUE_DAYS = {"village": 0, "township": 0, "district": 0, "quarterly": 5}


# -- periods -------------------------------------------------------------------------------------


def month_end(day: dt.date) -> dt.date:
    first_next = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first_next - dt.timedelta(days=1)


@dataclass(frozen=True, order=True)
class Period:
    start: dt.date
    end: dt.date
    kind: str = field(compare=False)

    @property
    def label(self) -> str:
        """In Chinese, as the ledgers name it: 2026年11月上旬, 2026年11月下半月, 2026年第4季度."""
        y, m = self.start.year, self.start.month
        if self.kind == "xun":
            return f"{y}年{m}月{'上中下'[min(self.start.day // 10, 2)]}旬"
        if self.kind == "half_month":
            return f"{y}年{m}月{'上' if self.start.day == 1 else '下'}半月"
        if self.kind == "month":
            return f"{y}年{m}月"
        return f"{y}年第{(m - 1) // 3 + 1}季度"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def period_containing(kind: str, day: dt.date) -> Period:
    if kind == "xun":
        if day.day <= 10:
            return Period(day.replace(day=1), day.replace(day=10), kind)
        if day.day <= 20:
            return Period(day.replace(day=11), day.replace(day=20), kind)
        return Period(day.replace(day=21), month_end(day), kind)
    if kind == "half_month":
        if day.day <= 15:
            return Period(day.replace(day=1), day.replace(day=15), kind)
        return Period(day.replace(day=16), month_end(day), kind)
    if kind == "month":
        return Period(day.replace(day=1), month_end(day), kind)
    if kind == "quarter":
        first_month = (day.month - 1) // 3 * 3 + 1
        start = day.replace(month=first_month, day=1)
        return Period(start, month_end(start.replace(month=first_month + 2)), kind)
    raise ValueError(f"unknown period kind {kind!r}; one of {', '.join(PERIOD_KINDS)}")


def periods_overlapping(kind: str, first: dt.date, last: dt.date) -> Iterator[Period]:
    """Every period of `kind` that has at least one day in [first, last], in order."""
    if last < first:
        return
    period = period_containing(kind, first)
    while period.start <= last:
        yield period
        period = period_containing(kind, period.end + dt.timedelta(days=1))


# -- due dates and instants ----------------------------------------------------------------------


def due_date(period: Period, due_days: int = 0) -> dt.date:
    return period.end + dt.timedelta(days=due_days)


def start_of_day(day: dt.date) -> dt.datetime:
    """00:00 of `day` in Asia/Shanghai, as an aware datetime."""
    return dt.datetime.combine(day, dt.time(0), SHANGHAI)


def due_instant(due: dt.date) -> dt.datetime:
    """The first moment a round due on `due` is overdue: 00:00 of the next day in Asia/Shanghai."""
    return start_of_day(due + dt.timedelta(days=1))


def local_date(moment: dt.datetime) -> dt.date:
    return as_aware(moment).astimezone(SHANGHAI).date()


def as_aware(moment: dt.datetime) -> dt.datetime:
    """Naive datetimes are UTC (SQLite hands back timestamps without their offset)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)


def stamp(moment: dt.datetime) -> str:
    """An ISO 8601 timestamp with seconds and the +08:00 offset, as documents carry them."""
    return as_aware(moment).astimezone(SHANGHAI).isoformat(timespec="seconds")


def parse_timestamp(value) -> dt.datetime | None:
    """A document timestamp as an aware datetime; None if absent or unreadable. A timestamp without
    an offset (the schema refuses those) is read as Asia/Shanghai wall time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=SHANGHAI)


# -- ids -----------------------------------------------------------------------------------------

ROUND_ID = re.compile(rf"^round-({'|'.join(LEVELS)})-([0-9]{{6}}|[0-9]{{9}}|[0-9]{{12}})-"
                      r"([0-9]{4}-[0-9]{2}-[0-9]{2})$")


def round_key(level: str, area: str, period: Period) -> str:
    """`village:610402001001:2026-11-01`: the level, the area and the period's first day."""
    return f"{level}:{area}:{period.start.isoformat()}"


def round_id(level: str, area: str, period: Period) -> str:
    """`round-village-610402001001-2026-11-01`. Deterministic, so every server process (and a
    re-run after a crash) computes the same id and a second creation is a conflict."""
    return f"round-{level}-{area}-{period.start.isoformat()}"


def parse_round_id(doc_id: str) -> tuple[str, str, dt.date] | None:
    m = ROUND_ID.match(doc_id)
    return (m.group(1), m.group(2), dt.date.fromisoformat(m.group(3))) if m else None


def month_day(day: dt.date) -> str:
    """A due date as a reminder says it: 1月4日."""
    return f"{day.month}月{day.day}日"


def reminder_id(round_doc_id: str, kind: str) -> str:
    """`reminder-round-village-610402001001-2026-11-01-overdue`: one reminder of each kind per round."""
    if kind not in REMINDER_KINDS:
        raise ValueError(f"unknown reminder kind {kind!r}")
    return f"reminder-{round_doc_id}-{kind}"


# -- configuration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelRule:
    level: str
    kind: str
    due_days: int = 0


@dataclass(frozen=True)
class CalendarConfig:
    """What the calendar does, per level; built from the app config by `from_config`."""
    rules: tuple[LevelRule, ...] = tuple(
        LevelRule(level, DEFAULT_PERIODS[level], DEFAULT_DUE_DAYS[level]) for level in LEVELS
    )
    remind_days_before: int = 2
    escalate_after_days: int = 3
    clock_skew: dt.timedelta = dt.timedelta(minutes=10)
    start: dt.date | None = None

    def rule(self, level: str) -> LevelRule | None:
        return next((r for r in self.rules if r.level == level), None)

    @classmethod
    def from_config(cls, config: Mapping) -> "CalendarConfig":
        periods = {**DEFAULT_PERIODS, **_level_map(config.get("PAICHA_CALENDAR_PERIODS"), str)}
        due = {**DEFAULT_DUE_DAYS, **_level_map(config.get("PAICHA_CALENDAR_DUE_DAYS"), int)}
        rules = []
        for level in LEVELS:
            kind = periods[level]
            if kind in ("off", "none", ""):
                continue
            if kind not in PERIOD_KINDS:
                raise ValueError(f"PAICHA_CALENDAR_PERIODS: {level}={kind!r} is not one of "
                                 f"{', '.join(PERIOD_KINDS)} or off")
            if due[level] < 0:
                raise ValueError(f"PAICHA_CALENDAR_DUE_DAYS: {level} must not be negative")
            rules.append(LevelRule(level, kind, due[level]))
        start = config.get("PAICHA_CALENDAR_START")
        if isinstance(start, str):
            start = dt.date.fromisoformat(start) if start.strip() else None
        return cls(
            rules=tuple(rules),
            remind_days_before=int(config.get("PAICHA_REMIND_DAYS_BEFORE", 2)),
            escalate_after_days=int(config.get("PAICHA_ESCALATE_AFTER_DAYS", 3)),
            clock_skew=dt.timedelta(minutes=int(config.get("PAICHA_CLOCK_SKEW_MINUTES", 10))),
            start=start,
        )


def _level_map(value, convert) -> dict:
    """`"village=xun,township=half_month"` or a dict -> {level: value}."""
    if not value:
        return {}
    if isinstance(value, Mapping):
        items = value.items()
    else:
        items = []
        for part in str(value).split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise ValueError(f"calendar setting {part.strip()!r} must look like level=value")
            key, _, val = part.partition("=")
            items.append((key.strip(), val.strip()))
    out = {}
    for key, val in items:
        if key not in LEVELS:
            raise ValueError(f"unknown calendar level {key!r}; one of {', '.join(LEVELS)}")
        out[key] = convert(val)
    return out


# -- the expected rounds -------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedRound:
    """A round the calendar says must exist: everything needed to write its document."""
    level: str
    area: str
    period: Period
    due_date: dt.date

    @property
    def id(self) -> str:
        return round_id(self.level, self.area, self.period)

    @property
    def key(self) -> str:
        return round_key(self.level, self.area, self.period)

    @property
    def due_instant(self) -> dt.datetime:
        return due_instant(self.due_date)

    @property
    def title(self) -> str:
        if self.level == QUARTERLY:
            return f"{self.period.label}重点矛盾纠纷研判"
        return f"{self.period.label}矛盾纠纷排查"


def planned_rounds(config: CalendarConfig, areas_by_level: Mapping[str, list[str]],
                   first: dt.date, last: dt.date) -> list[PlannedRound]:
    """Every round whose period overlaps [first, last], for every area of each configured level.
    `areas_by_level` maps an Area.level (village/township/district) to area codes."""
    out = []
    for rule in config.rules:
        codes = areas_by_level.get(AREA_LEVEL[rule.level], [])
        for period in periods_overlapping(rule.kind, first, last):
            due = due_date(period, rule.due_days)
            out.extend(PlannedRound(rule.level, code, period, due) for code in codes)
    return out


def planned_round_for_id(config: CalendarConfig, doc_id: str) -> PlannedRound | None:
    """The planned round an id names, under the current configuration (None if it does not fit)."""
    parsed = parse_round_id(doc_id)
    if parsed is None:
        return None
    level, area, start = parsed
    rule = config.rule(level)
    if rule is None:
        return None
    period = period_containing(rule.kind, start)
    if period.start != start:
        return None
    return PlannedRound(level, area, period, due_date(period, rule.due_days))
