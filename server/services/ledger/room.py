"""The online supervision room (网上督查室): the key figures of an area at this moment, each defined
once here (its words and how it is counted), each counted per child area (a district's townships, a
township's villages) and in total, each with a threshold that raises an alert.

Every figure reuses a read model and the rule already written for it: the disputes' facts
(`ledger_records`), the matters' derived deadlines (`matters.queries.pending_overdue`), the matters'
figures (`matters.figures.counts_by_area`), the notices' derived states (`notices.counts_by_area`),
the rounds' statuses (`rounds.status_counts`), the visit checks and the devices' last syncs. The
page links each number to the same records (`members` lists the disputes of the dispute figures).

Rates and 重复 count over the room's window (the last `window_days` days, today included); the
overdue counts, the open counts and the accounts are as of today; 今日新增 is today (Asia/Shanghai).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from schemas.areas import DISTRICT, LENGTH, VILLAGE
from schemas.vocabulary import KEY_RISK_LEVELS, NOTICE_ISSUED, NOTICE_OVERDUE, NOTICE_REPLIED, OPEN_DISPUTE_STATUSES

from server.core.models import as_utc
from server.services.calendar.periods import start_of_day
from server.services.ledger import accounts, areas, notices, rounds, visits
from server.services.ledger.disputes import fact, live_records
from server.services.ledger.index import DISPUTE
from server.services.ledger.tables import records
from server.services.ledger.windows import end_of
from server.services.matters import figures as matter_figures
from server.services.matters.queries import pending_overdue
from server.services.matters.tables import states

COUNT, RATE = "count", "rate"


@dataclass(frozen=True)
class Spec:
    key: str
    name: tuple[str, str]  # (zh, en)
    definition: tuple[str, str]  # (zh, en), one line; {days}, {stale_days}, {people} filled in
    kind: str  # COUNT (alert when at or above the threshold) or RATE (alert when below it)
    alert: float | None  # the default threshold (None: never alerts)


SPECS = (
    Spec("new_today", ("今日新增事项", "New matters today"),
         ("今日（北京时间）登记的矛盾纠纷事项数。", "Disputes registered today (Asia/Shanghai)."), COUNT, 20),
    Spec("accept_overdue", ("受理超期", "Acceptance overdue"),
         ("登记后超过受理期限仍未作出受理或不予受理决定的事项。",
          "Matters still neither accepted nor rejected after the acceptance deadline."), COUNT, 1),
    Spec("handle_overdue", ("办理超期（久拖不决）", "Handling overdue"),
         ("已受理、超过办理期限（含延期）仍未办结的事项。",
          "Accepted matters still not closed after the handling deadline (extension included)."), COUNT, 1),
    Spec("reply_overdue", ("答复超期", "Reply overdue"),
         ("超过答复期限仍未答复、也未办结的事项。",
          "Matters neither replied to nor closed after the reply deadline."), COUNT, 1),
    Spec("key_open", ("在办重点事项", "Open key matters"),
         ("风险等级为高或重大、尚未办结（登记、调解中、已上报）的事项。",
          "Matters of high or key risk still open (registered, mediating, escalated)."), COUNT, 10),
    Spec("collective_open", ("在办集体事项", "Open collective matters"),
         ("涉及人数 {people} 人及以上、尚未办结的事项。",
          "Open matters involving {people} people or more."), COUNT, 1),
    Spec("notices_open", ("在办督办", "Open supervision notices"),
         ("已下发、尚未办结或撤回的督办（含待答复、已答复、逾期未答复）。",
          "Notices issued and neither closed nor withdrawn (awaiting reply, replied, overdue)."), COUNT, None),
    Spec("notices_overdue", ("督办逾期未答复", "Notices overdue"),
         ("过了答复期限仍无答复的督办。", "Notices still unanswered after their deadline."), COUNT, 1),
    Spec("rounds_overdue_village", ("村级排查逾期未报", "Village rounds not submitted"),
         ("近 {days} 日到期、逾期未报、漏报或缺失的村级排查轮次。",
          "Village rounds due in the last {days} days that are overdue, missed or missing."), COUNT, 1),
    Spec("rounds_overdue_township", ("乡镇级排查逾期未报", "Township rounds not submitted"),
         ("近 {days} 日到期、逾期未报、漏报或缺失的乡镇级排查轮次。",
          "Township rounds due in the last {days} days that are overdue, missed or missing."), COUNT, 1),
    Spec("rounds_overdue_district", ("区级排查逾期未报", "District rounds not submitted"),
         ("近 {days} 日到期、逾期未报、漏报或缺失的区级排查轮次。",
          "District rounds due in the last {days} days that are overdue, missed or missing."), COUNT, 1),
    Spec("flagged_visits", ("异常走访", "Flagged visits"),
         ("近 {days} 日的入户走访中被标记异常（不在户附近、定位精度差、时间异常等）的次数。",
          "Visits of the last {days} days flagged (off site, poor fix, odd times, ...)."), COUNT, 5),
    Spec("stale_accounts", ("超 {stale_days} 天未同步账号", "Accounts not synced for {stale_days} days"),
         ("村干部、乡镇干部账号中，最近一次同步早于 {stale_days} 天前或从未同步的。",
          "Village cadre and township staff accounts whose last sync is older than {stale_days} days, or never."),
         COUNT, 1),
    Spec("satisfaction", ("满意率", "Satisfaction"),
         ("近 {days} 日办结或终结的事项中，最近一次评价为满意或基本满意的比例（群众满意率，未参评的按不满意计）。",
          "Of the matters closed or concluded in the last {days} days, the share whose latest evaluation is "
          "satisfied or basically satisfied (not evaluated counts as not satisfied)."), RATE, 0.9),
    Spec("one_time", ("一次性化解率", "One-time resolution"),
         ("近 {days} 日办结或终结的事项中，从未重新办理的比例。",
          "Of the matters closed or concluded in the last {days} days, the share never reopened."), RATE, 0.8),
    Spec("repeat", ("重复事项", "Repeat matters"),
         ("近 {days} 日登记的事项中，主要当事人手机号在此前 12 个月内登记过其他事项的件数。",
          "Matters registered in the last {days} days whose main party's phone appears on another matter "
          "of the 12 months before."), COUNT, 5),
)
BY_KEY = {s.key: s for s in SPECS}
KEYS = tuple(BY_KEY)
#: The figures that count disputes (their records: `members`).
DISPUTE_KEYS = ("new_today", "accept_overdue", "handle_overdue", "reply_overdue", "key_open", "collective_open")
ROUND_LEVELS = {"rounds_overdue_village": "village", "rounds_overdue_township": "township",
                "rounds_overdue_district": "district"}
#: The matters' figures behind the room's (and which of their parts the room shows).
MATTER_FIGURES = {"satisfaction": "public_satisfaction", "one_time": "one_time", "repeat": "repeat"}


def parse_thresholds(text: str) -> dict[str, float]:
    """`key=value,key=value` (PAICHA_ROOM_ALERTS) over the defaults; a value `off` never alerts;
    ValueError naming what cannot be read."""
    out = {s.key: s.alert for s in SPECS}
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        key, _, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if key not in BY_KEY:
            raise ValueError(f"unknown supervision room figure {key!r} (one of {', '.join(KEYS)})")
        if value == "off":
            out[key] = None
            continue
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{key}: {value!r} is not a number (or off)") from None
        if number < 0 or (BY_KEY[key].kind == RATE and number > 1):
            raise ValueError(f"{key}: {value} is out of range (a count from 0, a rate from 0 to 1)")
        out[key] = number
    return out


def alerting(key: str, value, thresholds: dict) -> bool:
    threshold = thresholds.get(key)
    if threshold is None or value is None:
        return False
    return value < threshold if BY_KEY[key].kind == RATE else value >= threshold


def child_length(area: str) -> int:
    """The code length of the areas the room breaks `area` into (a district for everything)."""
    return min(len(area) + 3, LENGTH[VILLAGE]) if area else LENGTH[DISTRICT]


def _code(column, length: int):
    """The child area a row lies in (an area above the children is itself)."""
    return sa.case((sa.func.length(column) >= length, sa.func.substr(column, 1, length)), else_=column)


def _key(code: str, length: int) -> str:
    return code[:length] if len(code) >= length else code


# -- the disputes' figures ------------------------------------------------------------------------------------

def dispute_rule(key: str, today: dt.date, collective_people: int):
    """The condition over ledger_records (d) outer-joined to matter_states (m) for a dispute figure
    (a collective matter: `people_involved` of `collective_people` or more, PAICHA_MATTER_COLLECTIVE_PEOPLE)."""
    d = records.c
    is_open = d.status.in_(OPEN_DISPUTE_STATUSES)
    if key == "new_today":
        return sa.and_(d.created_at >= as_utc(start_of_day(today)), d.created_at < as_utc(end_of(today)))
    if key in ("accept_overdue", "handle_overdue", "reply_overdue"):
        return pending_overdue(today)[key.split("_")[0]]
    if key == "key_open":
        return sa.and_(is_open, d.risk_level.in_(KEY_RISK_LEVELS))
    if key == "collective_open":
        return sa.and_(is_open, d.people >= collective_people)
    raise ValueError(key)


def _disputes_joined():
    d, m = records.c, states.c
    return records.outerjoin(states, sa.and_(m.db_name == d.db_name, m.doc_id == d.doc_id))


def dispute_counts(database, area: str, today: dt.date, length: int, collective_people: int) -> dict[str, dict[str, int]]:
    """{figure: {child code: n}} for the dispute figures, in one statement."""
    code = _code(records.c.area, length).label("code")
    columns = [sa.func.coalesce(sa.func.sum(sa.case((dispute_rule(k, today, collective_people), 1), else_=0)), 0) for k in DISPUTE_KEYS]
    query = (sa.select(code, *columns).select_from(_disputes_joined())
             .where(*live_records(database, DISPUTE, area)).group_by(code))
    out: dict[str, dict[str, int]] = {k: {} for k in DISPUTE_KEYS}
    with database.store.reading() as conn:
        for row in conn.execute(query):
            for i, k in enumerate(DISPUTE_KEYS):
                if row[i + 1]:
                    out[k][row[0]] = int(row[i + 1])
    return out


def members(database, area: str, key: str, today: dt.date, *, collective_people: int, offset: int = 0,
            limit: int = 50) -> list[dict]:
    """One page (id order) of the disputes a dispute figure counts, as the ledger's facts."""
    if key not in DISPUTE_KEYS:
        raise ValueError(key)
    query = (sa.select(records).select_from(_disputes_joined())
             .where(*live_records(database, DISPUTE, area, dispute_rule(key, today, collective_people)))
             .order_by(records.c.doc_id).offset(offset).limit(limit))
    with database.store.reading() as conn:
        return [fact(r) for r in conn.execute(query)]


# -- the room ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Room:
    area: str
    today: dt.date
    since: dt.date  # the window of the rates, the rounds and the visits
    until: dt.date
    children: tuple[tuple[str, str], ...]  # (code, name) of the child areas, in code order
    values: dict  # {figure: {"total": value, "areas": {code: value}}}; a rate's value is {num, den, rate}
    thresholds: dict

    def value(self, key: str, code: str | None = None):
        v = self.values[key]["total"] if code is None else self.values[key]["areas"].get(code)
        if BY_KEY[key].kind == RATE:
            return (v or {}).get("rate")
        return v or 0

    def alert(self, key: str, code: str | None = None) -> bool:
        return alerting(key, self.value(key, code), self.thresholds)

    def alerts(self) -> list[str]:
        return [k for k in KEYS if self.alert(k)]

    def snapshot(self) -> dict:
        """What the live page needs, JSON-able: per figure its total, each child area's value, and
        which alert."""
        out = {}
        for k in KEYS:
            spec = BY_KEY[k]
            cells = {code: self.values[k]["areas"].get(code) for code, _ in self.children}
            if spec.kind == RATE:
                cells = {c: (v or {}).get("rate") for c, v in cells.items()}
            else:
                cells = {c: v or 0 for c, v in cells.items()}
            out[k] = {"total": self.value(k), "alert": self.alert(k), "areas": cells,
                      "alerts": [c for c, v in cells.items() if alerting(k, v, self.thresholds)]}
            if spec.kind == RATE:
                total = self.values[k]["total"] or {}
                out[k]["num"], out[k]["den"] = total.get("num", 0), total.get("den", 0)
        return out


def _sum_rates(by_area: dict[str, dict]) -> dict:
    num = sum(v["num"] for v in by_area.values())
    den = sum(v["den"] for v in by_area.values())
    return {"num": num, "den": den, "rate": matter_figures.rate(num, den)}


def measure(database, area: str, today: dt.date, *, window_days: int, stale_days: int, collective_people: int,
            thresholds: dict | None = None) -> Room:
    """Every figure of the room for `area` (inside the handle's scope), per child area and in total."""
    length = child_length(area)
    since, until = today - dt.timedelta(days=window_days - 1), today
    children = tuple((code, name) for code, name, _ in areas.under(area) if len(code) == length)
    by_area: dict[str, dict] = {}
    by_area.update(dispute_counts(database, area, today, length, collective_people))

    notice_counts = notices.counts_by_area(database, area, today, length)
    by_area["notices_open"] = {c: s[NOTICE_ISSUED] + s[NOTICE_REPLIED] + s[NOTICE_OVERDUE]
                               for c, s in notice_counts.items()}
    by_area["notices_overdue"] = {c: s[NOTICE_OVERDUE] for c, s in notice_counts.items()}

    per_level: dict[str, dict[str, int]] = {k: defaultdict(int) for k in ROUND_LEVELS}
    wanted = {level: k for k, level in ROUND_LEVELS.items()}
    for (code, level), counts in rounds.status_counts(area, since, until, by=("area", "level")).items():
        if level in wanted:
            per_level[wanted[level]][_key(code, length)] += sum(counts[s] for s in rounds.NOT_SUBMITTED)
    by_area.update({k: dict(v) for k, v in per_level.items()})

    by_area["flagged_visits"] = visits.flagged_counts(area, since, until, length)
    stale: dict[str, int] = defaultdict(int)
    for account in accounts.stale_accounts(area, stale_days):
        stale[_key(account["scope"], length)] += 1
    by_area["stale_accounts"] = dict(stale)

    matter = matter_figures.counts_by_area(database, area, since, until, today, length,
                                           keys=tuple(MATTER_FIGURES.values()))
    for key, figure in MATTER_FIGURES.items():
        cells = {code: f[figure] for code, f in matter.items()}
        if BY_KEY[key].kind == RATE:
            by_area[key] = {"areas": {c: v for c, v in cells.items()}, "total": _sum_rates(cells)}
        else:  # a count of the figure's numerator (重复事项)
            by_area[key] = {c: v["num"] for c, v in cells.items() if v["num"]}

    values = {}
    for key in KEYS:
        found = by_area.get(key, {})
        if BY_KEY[key].kind == RATE:
            values[key] = {"total": found["total"], "areas": dict(found["areas"])}
        else:
            values[key] = {"total": sum(found.values()), "areas": dict(found)}
    if area and any(_counted(values[k]["areas"].get(area)) for k in KEYS):  # the area's own (区本级)
        children += ((area, ""),)
    return Room(area=area, today=today, since=since, until=until, children=children, values=values,
                thresholds=thresholds if thresholds is not None else parse_thresholds(""))


def _counted(value) -> bool:
    return bool(value["den"] if isinstance(value, dict) else value)


def words(spec: Spec, lang: str, *, days: int, stale_days: int, collective_people: int) -> tuple[str, str]:
    """(name, definition) of a figure in the page's language."""
    i = 1 if lang == "en" else 0
    params = {"days": days, "stale_days": stale_days, "people": collective_people}
    return spec.name[i].format(**params), spec.definition[i].format(**params)
