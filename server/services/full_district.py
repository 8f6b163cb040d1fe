"""A generated district at full size: N villages and a year of their records, for benchmarks and tests.

Code 990201 is not a real division (no province has code 99). The villages are numbered 20 a
township (`village_code`: 300 villages are 15 townships, as in a real district); every document goes through the store with the normal rules (validation,
audit trail, read models, geotagging), written in batches as a phone's replication would:

- areas, village boundaries (a square round each centre), three accounts (district supervisor,
  township staff of the first township, administrator) with display names;
- the calendar's rounds, created as the tick creates them (each period's at its start);
- three households a village and a visit a month (every 8th 400 m from home: flagged);
- the cadres' reports (80 % on time, 12 % late, 8 % never), a dispute in 30 % of village reports
  (accepted, mediated, 70 % resolved, with satisfaction), every 20th report reviewed;
- the matters' steps (事项办理) of nine disputes in ten: accepted, most of them assigned to their
  township, handled, replied to, evaluated and closed, some left waiting past their deadlines;
- supervision notices (督办) to townships and villages, about one a village a quarter: most replied
  to and closed, some chased, some open past their deadline.

The same seed gives the same district. `generate` records what it made in the server's metadata
(`GENERATED`), so a store is generated once and `generated` tells what is in it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import time
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask

from sync.tables import server_meta

from server.core import clock
from server.core.accounts import add_account
from server.core.access import domain_database
from server.core.areas import check_area, import_areas
from server.core.auth import principal_named
from server.core.clock import SHANGHAI
from server.core.db import reading
from server.core.store import get_store
from server.services.calendar import rounds as calendar_rounds
from server.services.calendar.periods import periods_overlapping, start_of_day
from server.services.collections import CHILD_SEPARATOR
from server.services.geo.locate import import_boundaries

DISTRICT = "990201"
DISTRICT_NAME = "基准区（生成）"
SUPERVISOR, TOWNSHIP_USER, ADMIN = "bench-district", "bench-township", "bench-admin"
OWN_TOWNSHIP = DISTRICT + "001"
GENERATED = "full_district_generated"
CATEGORIES = ("land", "homestead", "marriage_family", "neighbourhood", "labour", "debt")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林罗高"
GIVEN = ("建国", "秀兰", "志强", "桂英", "红梅", "海涛", "丽娟", "国华", "玉兰", "春生", "金凤", "德明")
VILLAGES_PER_TOWNSHIP = 20
BATCH = 500  # documents a write: what a phone's replication sends at most


@dataclasses.dataclass(frozen=True)
class Generated:
    villages: int
    start: dt.date
    today: dt.date
    counts: dict
    seconds: float

    def to_json(self) -> str:
        return json.dumps({"villages": self.villages, "start": self.start.isoformat(),
                           "today": self.today.isoformat(), "counts": self.counts, "seconds": self.seconds})

    @classmethod
    def from_json(cls, text: str) -> "Generated":
        d = json.loads(text)
        return cls(d["villages"], dt.date.fromisoformat(d["start"]), dt.date.fromisoformat(d["today"]),
                   d["counts"], d.get("seconds", 0.0))


def village_code(n: int) -> str:
    return f"{DISTRICT}{n // VILLAGES_PER_TOWNSHIP + 1:03d}{n % VILLAGES_PER_TOWNSHIP + 1:03d}"


def village_name(code: str) -> str:
    return f"{int(code[6:9]):d}镇{int(code[9:]):d}村"


def village_centre(code: str) -> tuple[float, float]:
    """Townships 0.12° apart in rows of four, their villages 0.022° apart in rows of five."""
    t, v = int(code[6:9]) - 1, int(code[9:12]) - 1
    return 34.0 + (t // 4) * 0.12 + (v // 5) * 0.022, 108.5 + (t % 4) * 0.12 + (v % 5) * 0.022


def generated() -> Generated | None:
    """What `generate` made in this store, or None."""
    with reading() as session:
        value = session.execute(sa.select(server_meta.c.value).where(server_meta.c.key == GENERATED)).scalar()
    return Generated.from_json(value) if value else None


def generate(app: Flask, villages: int, start: dt.date, today: dt.date, password: str,
             progress: Callable[[str], None] = lambda line: None) -> Generated:
    """Generate the district's areas, accounts and records from `start` to the day before `today`."""
    if generated() is not None:
        raise ValueError("this store already holds a generated district")
    rng = random.Random(990201)
    began = time.perf_counter()
    counts: dict[str, int] = {}
    codes = [village_code(n) for n in range(villages)]
    townships = sorted({c[:9] for c in codes})
    _areas_and_accounts(codes, townships, password)
    database = domain_database(principal_named(ADMIN))

    def write(docs: list[dict], kind: str, written: str, into=database) -> None:
        """Day by day, each day's documents received at the time of that day's last one."""
        by_day: dict[str, list[dict]] = {}
        for doc in sorted(docs, key=lambda d: d[written]):
            by_day.setdefault(doc[written][:10], []).append(doc)
        for day_docs in by_day.values():
            for i in range(0, len(day_docs), BATCH):
                batch = day_docs[i:i + BATCH]
                with clock.stopped_at(dt.datetime.fromisoformat(batch[-1][written])):
                    refused = [r for r in into.bulk_docs(batch) if not r.ok]
                if refused:
                    raise RuntimeError(f"generated documents refused: {refused[:3]}")
        counts[kind] = counts.get(kind, 0) + len(docs)
        progress(f"{kind}: {len(docs)} ({time.perf_counter() - began:.0f} s)")

    days = sorted({p.start for kind in ("xun", "half_month", "month", "quarter")
                   for p in periods_overlapping(kind, start, today) if p.start >= start} | {start})
    for day in days:
        made_at = start_of_day(day) + dt.timedelta(minutes=10)
        with clock.stopped_at(made_at):
            summary, _ = calendar_rounds.ensure_rounds(app, day, day, made_at)
        counts["rounds"] = counts.get("rounds", 0) + len(summary.created)
    progress(f"rounds: {counts.get('rounds', 0)} ({time.perf_counter() - began:.0f} s)")

    households, visits = _households_and_visits(rng, codes, start, today)
    write(households, "households", "created_at")
    write(visits, "visits", "visited_at")
    reports, disputes = _reports_and_disputes(rng, codes, townships, start, today)
    steps = _matter_steps(rng, disputes, today)  # takes the open disputes' acceptance into steps
    write(disputes, "disputes", "created_at")
    write(reports, "reports", "submitted_at")
    reviews = [{"_id": f"review-{r['_id']}", "type": "report_review", "area": r["area"], "created_by": ADMIN,
                "created_at": r["submitted_at"], "report_id": r["_id"], "round_id": r["round_id"],
                "status": "approved", "reviewed_at": r["submitted_at"]} for r in reports[::20]]
    write(reviews, "reviews", "reviewed_at")
    write(steps, "matter steps", "created_at")
    notices, replies = _notices_and_replies(rng, codes, townships, start, today)
    write(notices, "notices", "updated_at", into=domain_database(principal_named(SUPERVISOR)))
    write(replies, "notice replies", "replied_at")
    counts["quarantined"] = _quarantined(rng, database, codes, today)
    made = Generated(villages, start, today, counts, round(time.perf_counter() - began, 1))
    with get_store().writing() as conn:
        conn.execute(server_meta.insert().values(key=GENERATED, value=made.to_json()))
    return made


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds")


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _areas_and_accounts(codes: list[str], townships: list[str], password: str) -> None:
    import_areas([check_area(DISTRICT, DISTRICT_NAME)]
                 + [check_area(t, f"第{int(t[6:]):d}镇") for t in townships]
                 + [check_area(c, village_name(c)) for c in codes])
    for name, role, scope, display in ((SUPERVISOR, "district_supervisor", DISTRICT, "孙督查（区）"),
                                       (TOWNSHIP_USER, "township_staff", OWN_TOWNSHIP, "赵敏（第1镇）"),
                                       (ADMIN, "admin", "", "生成数据管理员")):
        add_account(name, password, role, scope, display)
    features = []
    for code in codes:
        lat, lon = village_centre(code)
        d = 0.005
        ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]
        features.append({"type": "Feature", "properties": {"code": code, "name": village_name(code)},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    with get_store().writing() as conn:
        import_boundaries(conn, {"type": "FeatureCollection", "features": features}, source="generated")


def _households_and_visits(rng: random.Random, codes: list[str], start: dt.date,
                           today: dt.date) -> tuple[list[dict], list[dict]]:
    households, visits = [], []
    for code in codes:
        lat, lon = village_centre(code)
        homes = [(round(lat + rng.uniform(-0.003, 0.003), 6), round(lon + rng.uniform(-0.003, 0.003), 6))
                 for _ in range(3)]
        for n, home in enumerate(homes):
            households.append({"_id": f"household-{code}-{n + 1:03d}", "type": "household", "area": code,
                               "created_by": ADMIN, "created_at": _stamp(start_of_day(start)),
                               "address": f"{int(code[9:]):d}村{n + 1}组", "head_name": _person(rng),
                               "location": {"lat": home[0], "lon": home[1], "crs": "WGS-84"}})
        # ten staff a township, two villages each: one in the morning, the other in the afternoon
        village = int(code[9:]) - 1
        visitor = f"staff-{code[6:9]}-{village % 10}"
        at = dt.time(9 + 5 * (village // 10 % 2), 30)
        for m in range(0, (today - start).days, 30):
            when = dt.datetime.combine(start + dt.timedelta(days=m + rng.randint(0, 25)), at, SHANGHAI)
            if when.date() >= today:
                continue
            n = len(visits)
            home = homes[n % 3]
            spread = 0.004 if n % 8 == 0 else 0.0002
            visits.append({"_id": f"visit-{code}-{m:03d}", "type": "household_visit", "area": code,
                           "created_by": visitor, "created_at": _stamp(when),
                           "household_id": f"household-{code}-{n % 3 + 1:03d}", "visitor": visitor,
                           "visited_at": _stamp(when), "purpose": "routine",
                           "fix": {"lat": round(home[0] + spread, 6), "lon": round(home[1] + spread / 2, 6),
                                   "accuracy_m": 10, "fix_time": _stamp(when), "crs": "WGS-84"}})
    return households, visits


def _reports_and_disputes(rng: random.Random, codes: list[str], townships: list[str], start: dt.date,
                          today: dt.date) -> tuple[list[dict], list[dict]]:
    """The reports in the order they were submitted, and the disputes found in them."""
    filers = [(c, "village", "xun") for c in codes] + [(t, "township", "half_month") for t in townships]
    reports, disputes = [], []
    for area, level, kind in filers:
        for period in periods_overlapping(kind, start, today - dt.timedelta(days=1)):
            if period.start < start:
                continue
            fate = rng.choices(["on_time", "late", "missing"], weights=[80, 12, 8])[0]
            if fate == "missing" or (period.end >= today and fate == "late"):
                continue
            day = period.end - dt.timedelta(days=rng.randint(0, 2)) if fate == "on_time" \
                else period.end + dt.timedelta(days=rng.randint(1, 4))
            if day >= today or day < period.start:
                continue
            when = dt.datetime.combine(day, dt.time(rng.randint(8, 18), rng.choice([5, 20, 40])), SHANGHAI)
            found = []
            if level == "village" and rng.random() < 0.3:
                dispute_id = f"dispute-{area}-{period.start.isoformat()}"
                found.append(dispute_id)
                disputes.append(_dispute(rng, dispute_id, area, when, today))
            reports.append({
                "_id": f"report-{level}-{area}-{period.start.isoformat()}", "type": "screening_report",
                "area": area, "created_by": ADMIN, "created_at": _stamp(when),
                "round_id": f"round-{level}-{area}-{period.start.isoformat()}",
                "nil_report": not found, "disputes": found, "summary": "本期排查情况：已逐户走访。",
                "households_screened": rng.randint(120, 260), "submitted_at": _stamp(when)})
    reports.sort(key=lambda d: d["submitted_at"])
    return reports, disputes


def _dispute(rng: random.Random, doc_id: str, area: str, when: dt.datetime, today: dt.date) -> dict:
    accepted = when + dt.timedelta(hours=rng.choice([2, 6, 20, 30, 50]))
    doc = {"_id": doc_id, "type": "dispute", "area": area, "created_by": ADMIN, "created_at": _stamp(when),
           "accepted_at": _stamp(accepted), "summary": "宅基地界线争议，双方各执一词，" * 5,
           "parties": [{"name": _person(rng), "role": "applicant"}, {"name": _person(rng), "role": "respondent"}],
           "category": rng.choice(CATEGORIES), "risk_level": rng.choices(["low", "medium", "high", "key"],
                                                                        weights=[50, 30, 15, 5])[0],
           "status": "mediating",
           "mediation": [{"at": _stamp(accepted), "by": ADMIN, "method": "in_person", "result": "not_agreed"}]}
    resolved = accepted + dt.timedelta(days=rng.randint(1, 60))
    if rng.random() < 0.7 and resolved.date() < today:
        doc.update(status="resolved", outcome="双方达成调解协议并履行。", resolved_at=_stamp(resolved),
                   one_time_resolution=rng.random() < 0.6,
                   satisfaction=rng.choice(["satisfied", "basically", "unsatisfied"]))
    return doc


def _child_id(rng: random.Random, prefix: str, parent_id: str, moment: dt.datetime) -> str:
    """As `collections.child_id` makes them, with the seed's randomness (the same district each time)."""
    return f"{prefix}{parent_id}{CHILD_SEPARATOR}{moment.astimezone(dt.timezone.utc):%Y%m%dT%H%M%S%f}-{rng.getrandbits(24):06x}"


def _matter_steps(rng: random.Random, disputes: list[dict], today: dt.date) -> list[dict]:
    """The lives of the open disputes as their office and unit record them in steps (the resolved
    ones keep their own acceptance and resolution, as disputes recorded before steps existed): nine
    in ten accepted; most of those assigned to their township's unit and handled; some replied to,
    evaluated by someone else and closed; the rest stop on the way, and those stopped long enough
    are past their deadlines. Each such dispute's own `accepted_at` gives way to its 受理 step."""
    end = dt.datetime.combine(today, dt.time(0, 0), SHANGHAI)
    steps = []
    for d in disputes:
        if d.get("resolved_at"):
            continue
        matter, area = d["_id"], d["area"]
        township = area[:9]
        at = dt.datetime.fromisoformat(d.pop("accepted_at"))
        if rng.random() < 0.1:
            continue  # waits for acceptance (past its 15 days once old enough)
        life = [("accept", {})]
        if rng.random() < 0.8:
            life.append(("assign", {"responsible_area": township, "unit": f"第{int(township[6:]):d}镇综治中心",
                                    "leader": _person(rng) + "（副镇长）"}))
            if rng.random() < 0.7:
                life.append(("handle", {"method": rng.choice(["mediation", "mediation", "visit", "hearing"]),
                                        "participants": f"{_person(rng)}、{_person(rng)}",
                                        "conclusion": "双方同意按村规民约划定界线。"}))
                if rng.random() < 0.6:
                    life += [("reply", {"content": "已告知调解结果及依据。",
                                        "channel": rng.choice(["in_person", "phone"])}),
                             ("evaluate", {"result": rng.choice(["satisfied", "satisfied", "basically", "unsatisfied"]),
                                           "collected_via": rng.choice(["phone", "in_person"]),
                                           "collected_by": "区督查室回访组"}),
                             ("close", {"note": "调解协议已履行。"})]
        when = at
        for kind, fields in life:
            if kind != "accept":
                when += dt.timedelta(days=rng.randint(1, 25), hours=rng.randint(0, 5))
            if when >= end:
                break
            if kind == "reply":
                fields = {**fields, "date": when.astimezone(SHANGHAI).date().isoformat()}
            writer = (SUPERVISOR if kind == "evaluate" else f"staff-{township[6:9]}-{int(area[9:]) % 10}"
                      if kind in ("handle", "reply") else ADMIN)
            steps.append({"_id": _child_id(rng, "step-", matter, when), "type": "matter_step", "area": area,
                          "created_by": writer, "created_at": _stamp(when), "matter_id": matter, "kind": kind,
                          "at": _stamp(when), **fields})
    return steps


def _quarantined(rng: random.Random, database, codes: list[str], today: dt.date) -> int:
    """A few writes the store refuses, as phones send them (each becomes a quarantine entry for the
    administrator): reports with a negative household count, visits with no household."""
    when = dt.datetime.combine(today - dt.timedelta(days=2), dt.time(11, 0), SHANGHAI)
    bad = []
    for n, code in enumerate(rng.sample(codes, min(6, len(codes)))):
        if n % 2:
            bad.append({"_id": f"report-village-{code}-bad-{n}", "type": "screening_report", "area": code,
                        "created_by": ADMIN, "created_at": _stamp(when), "round_id": f"round-village-{code}-bad",
                        "nil_report": True, "disputes": [], "summary": "本期无纠纷。", "households_screened": -n,
                        "submitted_at": _stamp(when)})
        else:
            bad.append({"_id": f"visit-{code}-bad-{n}", "type": "household_visit", "area": code, "created_by": ADMIN,
                        "created_at": _stamp(when), "visitor": ADMIN, "visited_at": _stamp(when), "purpose": "routine"})
    with clock.stopped_at(when):
        refused = [r for r in database.bulk_docs(bad) if not r.ok]
    return len(refused)


NOTICE_SUBJECTS = ("排查报告逾期未报", "重点纠纷化解进度", "入户走访覆盖不足", "信访积案清理", "矛盾纠纷集中排查")


def _notices_and_replies(rng: random.Random, codes: list[str], townships: list[str], start: dt.date,
                         today: dt.date) -> tuple[list[dict], list[dict]]:
    """About one notice a village a quarter (a township's one in four), each as it stands today: its
    reply (seven in ten), the chases of those late to answer, closed once replied (most of them), or
    still open, overdue once its deadline passed. A notice is written once, at its last event."""
    notices, replies = [], []
    targets = codes + townships
    days = (today - start).days
    for n in range(max(1, len(targets) * days // 365)):
        target = rng.choice(targets)
        issued = dt.datetime.combine(start + dt.timedelta(days=rng.randrange(days)),
                                     dt.time(rng.randint(9, 16), 0), SHANGHAI)
        deadline = issued.date() + dt.timedelta(days=rng.choice([7, 10, 15]))
        notice_id = f"notice-generated-{n:05d}"
        doc = {"_id": notice_id, "type": "supervision_notice", "area": target, "created_by": SUPERVISOR,
               "created_at": _stamp(issued), "target_area": target, "subject": rng.choice(NOTICE_SUBJECTS),
               "body": "请于期限内核实情况、落实整改并书面答复。", "deadline": deadline.isoformat(),
               "issued_by": "区网上督查室", "status": "issued", "kind": rng.choice(["routine", "topical"]),
               "priority": rng.choices(["general", "key"], weights=[4, 1])[0],
               "method": rng.choice(["online", "phone", "on_site", "letter"]), "chases": []}
        last = issued
        replied = issued + dt.timedelta(days=rng.randint(2, 20), hours=rng.randint(0, 6))
        if rng.random() < 0.3:
            replied = None
        for k in range(rng.randint(1, 3) if replied is None or replied.date() > deadline else 0):
            chased = dt.datetime.combine(deadline + dt.timedelta(days=1 + 3 * k), dt.time(10, 0), SHANGHAI)
            if chased.date() >= today or (replied is not None and chased >= replied):
                break
            doc["chases"].append({"at": _stamp(chased), "by": SUPERVISOR, "method": rng.choice(["phone", "online"]),
                                  "note": "请尽快答复。"})
            last = chased
        if replied is not None and replied.date() < today:
            replies.append({"_id": _child_id(rng, "reply-", notice_id, replied), "type": "notice_reply",
                            "area": target, "created_by": f"staff-{target[6:9]}-{n % 10}",
                            "created_at": _stamp(replied), "notice_id": notice_id,
                            "body": "已核实并落实整改，情况如下：……", "replied_at": _stamp(replied)})
            closed = replied + dt.timedelta(days=rng.randint(1, 5))
            if rng.random() < 0.8 and closed.date() < today:
                doc.update(status="closed", closed_at=_stamp(closed), close_note="整改到位，予以办结。")
                last = closed
        doc.update(updated_by=SUPERVISOR, updated_at=_stamp(last))
        notices.append(doc)
    return notices, replies
