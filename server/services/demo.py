"""The demo district: clearly synthetic areas, accounts and a few months of records.

Code 990101 is not a real division (no province has code 99). Everything is written through the
sync store with the normal rules, so the demo exercises the same paths as real phones.
"""
from __future__ import annotations

import datetime as dt
import random
import uuid

import sqlalchemy as sa
from flask import Flask

from sync.tables import server_meta

from server.core import clock
from server.core.clock import SHANGHAI
from server.core.accounts import add_account
from server.core.areas import check_area, import_areas
from server.core.access import domain_database
from server.core.auth import principal_named
from server.core.db import reading, writing
from server.core.models import Account
from server.services.calendar import apply_settings
from server.services.calendar.periods import periods_overlapping, start_of_day
from server.services.calendar.tick import tick
from server.services.geo.locate import import_boundaries

DEMO_PASSWORD = "demo-password"
DISTRICT = ("990101", "示范区（演示）")
TOWNSHIPS = [("990101001", "示范镇"), ("990101002", "东山镇")]
#: 包案领导 of the district and its townships (a matter whose 交办 names none falls to them)
LEADERS = {"990101": "陈立新（副区长）", "990101001": "周建华（镇长）", "990101002": "吴志远（镇党委副书记）"}
VILLAGES = [
    ("990101001001", "示范村一", 34.3412, 108.7205),
    ("990101001002", "示范村二", 34.3530, 108.7391),
    ("990101001003", "三河村", 34.3297, 108.7488),
    ("990101002001", "东山村", 34.3811, 108.8012),
    ("990101002002", "石桥村", 34.3925, 108.8190),
]
ACCOUNTS = [
    ("demo-village", "village_cadre", "990101001001", "刘芳（示范村一）"),
    ("demo-village2", "village_cadre", "990101001002", "王磊（示范村二）"),
    ("demo-township", "township_staff", "990101001", "赵敏（示范镇）"),
    ("demo-district", "district_supervisor", "990101", "孙强（区督查）"),
    ("demo-admin", "admin", "", "演示管理员"),
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林罗高"
GIVEN = ["建国", "秀兰", "志强", "桂英", "红梅", "海涛", "丽娟", "国华", "玉兰", "春生", "金凤", "德明"]
CATEGORIES = ["homestead", "neighbourhood", "marriage_family", "land", "debt", "labour"]


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds")


def already_seeded() -> bool:
    with reading() as session:
        seeded = session.execute(sa.select(server_meta.c.value).where(server_meta.c.key == "demo_seeded")).first()
    return seeded is not None


def seed(app: Flask, today: dt.date | None = None) -> bool:
    """Create the demo district once, its three months of records ending on `today` (default: the
    clock's); returns False if it was already there."""
    if already_seeded():
        return False
    rng = random.Random(990101)
    today = today or clock.today()
    rows = [check_area(*DISTRICT, leader=LEADERS[DISTRICT[0]])] + \
           [check_area(c, n, leader=LEADERS[c]) for c, n in TOWNSHIPS] + [check_area(c, n) for c, n, _, _ in VILLAGES]
    import_areas(rows)
    with reading() as session:
        existing = set(session.execute(sa.select(Account.name)).scalars())
    for name, role, scope, display in ACCOUNTS:
        if name not in existing:
            add_account(name, DEMO_PASSWORD, role, scope, display)
    _village_centres()
    docs = _records(rng, today)
    database = domain_database(principal_named("demo-admin"))
    results = database.bulk_docs(docs)
    refused = [r for r in results if not r.ok]
    if refused:
        raise RuntimeError(f"demo documents refused: {refused[:3]}")
    _screening_history(app, database, rng, today)
    with writing() as conn:
        conn.execute(server_meta.insert().values(key="demo_seeded", value=today.isoformat()))
    return True


def _screening_history(app: Flask, database, rng: random.Random, today: dt.date) -> None:
    """Three months of the calendar as it would have run: the server's ticks create rounds and
    reminders, and between them cadres file their reports: mostly on time, some late, a few never."""
    apply_settings(app)
    start = today - dt.timedelta(days=90)
    reports: list[tuple[dt.datetime, dict]] = []
    filers = [(code, "village", "xun", {"990101001001": "demo-village", "990101001002": "demo-village2"}
               .get(code, "demo-township")) for code, *_ in VILLAGES]
    filers += [(code, "township", "half_month", "demo-township") for code, _ in TOWNSHIPS]
    for area, level, kind, author in filers:
        for period in periods_overlapping(kind, start, today - dt.timedelta(days=1)):
            if period.start < start:
                continue
            fate = rng.choices(["on_time", "late", "missing"], weights=[80, 12, 8])[0]
            if fate == "missing" or (period.end >= today and fate == "late"):
                continue
            day = period.end - dt.timedelta(days=rng.randint(0, 2)) if fate == "on_time" \
                else period.end + dt.timedelta(days=rng.randint(1, 4))
            if day >= today:
                continue
            when = dt.datetime.combine(day, dt.time(rng.randint(8, 18), rng.choice([5, 20, 40])), SHANGHAI)
            found = [d for d in (f"dispute-{area}-01", f"dispute-{area}-02") if rng.random() < 0.15]
            reports.append((when, {
                "_id": f"report-{level}-{area}-{period.start.isoformat()}", "type": "screening_report",
                "area": area, "created_by": author, "created_at": _stamp(when),
                "round_id": f"round-{level}-{area}-{period.start.isoformat()}",
                "nil_report": not found, "disputes": found,
                "summary": "（演示）本期排查未发现矛盾纠纷。" if not found else "（演示）本期排查发现纠纷，已登记调处。",
                "households_screened": rng.randint(120, 260), "submitted_at": _stamp(when),
            }))
    reports.sort(key=lambda r: r[0])
    tick_days = sorted({p.start for kind in ("xun", "half_month", "month")
                        for p in periods_overlapping(kind, start, today)} | {today})
    for day in tick_days:
        moment = start_of_day(day) + dt.timedelta(minutes=10)
        due = [doc for when, doc in reports if when < moment]
        reports = [(when, doc) for when, doc in reports if when >= moment]
        if due:
            _write_all(database, due)
        tick(app, now=min(moment, clock.now()))
    if reports:
        _write_all(database, [doc for _, doc in reports])


def _write_all(database, docs: list[dict]) -> None:
    refused = [r for r in database.bulk_docs(docs) if not r.ok]
    if refused:
        raise RuntimeError(f"demo documents refused: {refused[:3]}")


def _village_centres() -> None:
    """Village centres (no boundaries): visits can be placed in the nearest village."""
    features = [{"type": "Feature", "properties": {"code": code, "name": name},
                 "geometry": {"type": "Point", "coordinates": [lon, lat]}} for code, name, lat, lon in VILLAGES]
    with writing() as conn:
        import_boundaries(conn, {"type": "FeatureCollection", "features": features}, source="demo")


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _records(rng: random.Random, today: dt.date) -> list[dict]:
    docs: list[dict] = []
    cadre_of = {"990101001001": "demo-village", "990101001002": "demo-village2"}
    start = today - dt.timedelta(days=90)
    for index, (code, name, lat, lon) in enumerate(VILLAGES):
        cadre = cadre_of.get(code, "demo-township")
        households = []
        for n in range(1, 7):
            hh_id = f"household-{code}-{n:03d}"
            home = (round(lat + rng.uniform(-0.004, 0.004), 6), round(lon + rng.uniform(-0.004, 0.004), 6))
            households.append((hh_id, home))
            docs.append({
                "_id": hh_id, "type": "household", "area": code, "created_by": cadre,
                "created_at": _stamp(dt.datetime.combine(start, dt.time(9), SHANGHAI)),
                "address": f"{name}{n}组{rng.randint(1, 40)}号", "head_name": _person(rng),
                "location": {"lat": home[0], "lon": home[1], "crs": "WGS-84"},
            })
        for n in range(2):
            opened = dt.datetime.combine(start + dt.timedelta(days=rng.randint(0, 70)), dt.time(10), SHANGHAI)
            dispute = {
                "_id": f"dispute-{code}-{n + 1:02d}", "type": "dispute", "area": code,
                "created_by": cadre, "created_at": _stamp(opened), "accepted_at": _stamp(opened),
                "summary": f"（演示）{name}村民因{rng.choice(['宅基地界线', '灌溉用水', '赡养老人', '借款归还'])}发生纠纷。",
                "parties": [{"name": _person(rng), "role": "applicant"}, {"name": _person(rng), "role": "respondent"}],
                "category": rng.choice(CATEGORIES), "risk_level": rng.choice(["low", "medium", "high"]),
                "status": "mediating",
                "mediation": [{"at": _stamp(opened + dt.timedelta(days=2)), "by": cadre, "method": "in_person",
                               "result": "not_agreed"}],
            }
            if n == 0:
                resolved = opened + dt.timedelta(days=6)
                dispute["mediation"].append({"at": _stamp(resolved), "by": "demo-township", "method": "joint",
                                             "result": "agreed"})
                dispute.update(status="resolved", outcome="（演示）双方达成调解协议并履行。",
                               resolved_at=_stamp(resolved), one_time_resolution=False, satisfaction="satisfied")
            docs.append(dispute)
        for n, (hh_id, home) in enumerate(households[:4]):
            # One visitor for the whole township: a village a day, never two places at once.
            when = dt.datetime.combine(start + dt.timedelta(days=10 + 15 * n + index * 2), dt.time(15, 30), SHANGHAI)
            # Most fixes within ~30 m of the door; the last one of each village is 400 m off, so
            # the ledger has a flagged visit to show.
            spread = 0.0003 if n < 3 else 0.004
            docs.append({
                "_id": f"visit-{code}-{n + 1:02d}", "type": "household_visit", "area": code,
                "created_by": "demo-township", "created_at": _stamp(when), "household_id": hh_id,
                "visitor": "demo-township", "visited_at": _stamp(when), "purpose": "routine",
                "fix": {"lat": round(home[0] + rng.choice([-1, 1]) * spread * rng.uniform(0.5, 1), 6),
                        "lon": round(home[1] + rng.uniform(-spread, spread) / 2, 6),
                        "accuracy_m": rng.choice([8, 12, 25]), "fix_time": _stamp(when), "crs": "WGS-84"},
                "notes": "（演示）入户走访，了解家庭矛盾情况。",
            })
    return docs


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"
