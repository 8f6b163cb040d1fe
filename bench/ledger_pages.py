"""Ledger pages at scale: a year of screening for 1 000 villages, every page timed.

    .venv/bin/python bench/ledger_pages.py --store sqlite|postgresql [--villages 1000] [--days 365]
        [--db PATH_OR_NAME] [--runs 3] [--label after] [--profile /ledger/figures] [--only district]

Seeds (once; `--db` keeps the store so later runs reuse it) a district of `--villages` villages in
10-per-100 townships, through the app's own APIs: areas and village boundaries, the calendar's rounds
created the way the tick creates them (each period's rounds at the start of that period), the cadres'
reports (80 % on time, 12 % late, 8 % never), disputes found in them (with acceptance, resolution,
satisfaction), households and geotagged visits (some flagged), a few reviews. Every document goes
through the server's store handle (validation, audit trail, geotagging hooks).

Then logs in through the Flask test client as a district supervisor and a township user and times
each ledger page and export (one warm-up, then the median of `--runs`), printing a table and saving
`bench/results/ledger_pages-<store>-<label>-<time>.json`. `--profile PATH` prints a cProfile of one
request of that page (as the district supervisor) instead.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import pstats
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DISTRICT = "990201"
PASSWORD = "bench-password"
SUPERVISOR, TOWNSHIP_USER, ADMIN = "bench-district", "bench-township", "bench-admin"
OWN_TOWNSHIP = DISTRICT + "001"
SEEDED = "bench_ledger_seeded"
CATEGORIES = ("land", "homestead", "marriage_family", "neighbourhood", "labour", "debt")
PG_ADMIN = os.environ.get("PAICHA_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def village_code(n: int) -> str:
    return f"{DISTRICT}{n // 100 + 1:03d}{n % 100 + 1:03d}"


def village_centre(code: str) -> tuple[float, float]:
    t, v = int(code[6:9]) - 1, int(code[9:12]) - 1
    return 34.0 + (t // 4) * 0.12 + (v // 10) * 0.011, 108.5 + (t % 4) * 0.12 + (v % 10) * 0.011


# -- the store ---------------------------------------------------------------------------------------------

def database_url(store: str, db: str | None) -> tuple[str, bool]:
    """(SQLAlchemy URL, whether the store is new)."""
    if store == "sqlite":
        path = Path(db) if db else Path(tempfile.mkdtemp(prefix="paicha-ledger-")) / "store.sqlite3"
        return f"sqlite:///{path}", not path.exists()
    import psycopg

    name = db or f"paicha_ledger_bench_{int(time.time())}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}", not exists


def make_app(url: str, start: dt.date):
    os.environ["DATABASE_URL"] = url
    os.environ["PAICHA_DEMO"] = "0"
    os.environ["PAICHA_SCHEDULER"] = "off"
    from server import create_app
    from server.setup import prepare

    return prepare(create_app({"PAICHA_DEMO": False, "PAICHA_SCHEDULER": "off",
                               "PAICHA_CALENDAR_START": start.isoformat()}))


def _stamp(moment: dt.datetime) -> str:
    from server.services.calendar.periods import SHANGHAI

    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds")


def seed(app, villages: int, start: dt.date, today: dt.date) -> dict:
    """Everything through the app's APIs; returns counts and seconds."""
    import sqlalchemy as sa

    from server.core.access import access_for
    from server.core.accounts import add_account
    from server.core.areas import check_area, import_areas
    from server.core.auth import Principal
    from server.services.calendar import rounds as calendar_rounds
    from server.services.calendar.periods import SHANGHAI, periods_overlapping, start_of_day
    from server.core.store import get_store
    from server.core.db import db
    from server.services.geo.locate import import_boundaries
    from server.core.models import Account
    from sync.tables import server_meta

    rng = random.Random(990201)
    began = time.perf_counter()
    counts: dict[str, int] = {}
    with app.app_context():
        codes = [village_code(n) for n in range(villages)]
        townships = sorted({c[:9] for c in codes})
        import_areas([check_area(DISTRICT, "基准区")] + [check_area(t, f"基准镇{t[6:]}") for t in townships]
                     + [check_area(c, f"基准村{c[6:]}") for c in codes])
        for name, role, scope in ((SUPERVISOR, "district_supervisor", DISTRICT),
                                  (TOWNSHIP_USER, "township_staff", OWN_TOWNSHIP), (ADMIN, "admin", "")):
            add_account(name, PASSWORD, role, scope)
        db.session.commit()
        features = []
        for code in codes:
            lat, lon = village_centre(code)
            d = 0.005
            ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]
            features.append({"type": "Feature", "properties": {"code": code, "name": f"基准村{code[6:]}"},
                             "geometry": {"type": "Polygon", "coordinates": [ring]}})
        with get_store().writing() as conn:
            import_boundaries(conn, {"type": "FeatureCollection", "features": features}, source="bench")
        admin = db.session.execute(sa.select(Account).where(Account.name == ADMIN)).scalar_one()
        principal = Principal(admin.name, admin.role, admin.scope, admin.id)
        db.session.commit()
        database = get_store().open(app.config["PAICHA_DOMAIN_DB"], access_for(principal, app.config["PAICHA_DOMAIN_DB"]))

        def write(docs: list[dict], kind: str) -> None:
            for i in range(0, len(docs), 500):
                refused = [r for r in database.bulk_docs(docs[i:i + 500]) if not r.ok]
                if refused:
                    raise RuntimeError(f"bench documents refused: {refused[:3]}")
            counts[kind] = counts.get(kind, 0) + len(docs)

        # the calendar's rounds, created as the tick would have: each period's at its start
        days = sorted({p.start for kind in ("xun", "half_month", "month", "quarter")
                       for p in periods_overlapping(kind, start, today) if p.start >= start} | {start})
        for day in days:
            summary, _ = calendar_rounds.ensure_rounds(app, day, day, start_of_day(day) + dt.timedelta(minutes=10))
            counts["rounds"] = counts.get("rounds", 0) + len(summary.created)
        print(f"  rounds: {counts['rounds']} ({time.perf_counter() - began:.0f} s)", flush=True)

        # households (3 a village) and visits (one a month a village; every 8th 400 m off: flagged)
        households, visits = [], []
        for code in codes:
            lat, lon = village_centre(code)
            homes = [(round(lat + rng.uniform(-0.003, 0.003), 6), round(lon + rng.uniform(-0.003, 0.003), 6))
                     for _ in range(3)]
            for n, home in enumerate(homes):
                households.append({"_id": f"household-{code}-{n + 1:03d}", "type": "household", "area": code,
                                   "created_by": ADMIN, "created_at": _stamp(start_of_day(start)),
                                   "address": f"基准村{code[6:]}{n + 1}组", "head_name": "王建国",
                                   "location": {"lat": home[0], "lon": home[1], "crs": "WGS-84"}})
            visitor = f"staff-{code[6:9]}-{int(code[9:]) % 10}"  # ten staff a township, ten villages each
            for m in range(0, 365, 30):
                when = dt.datetime.combine(start + dt.timedelta(days=m + rng.randint(0, 25)), dt.time(15, 30), SHANGHAI)
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
        write(households, "households")
        write(visits, "visits")
        print(f"  households, visits: {len(households)}, {len(visits)} ({time.perf_counter() - began:.0f} s)",
              flush=True)

        # reports (and the disputes found in them), in time order
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
                    "nil_report": not found, "disputes": found, "summary": "基准测试：本期排查情况。",
                    "households_screened": rng.randint(120, 260), "submitted_at": _stamp(when)})
        reports.sort(key=lambda d: d["submitted_at"])
        write(disputes, "disputes")
        write(reports, "reports")
        print(f"  disputes, reports: {len(disputes)}, {len(reports)} ({time.perf_counter() - began:.0f} s)",
              flush=True)
        # a few reviews (every 20th report of the district supervisor's window)
        reviews = [{"_id": f"review-{r['_id']}", "type": "report_review", "area": r["area"], "created_by": ADMIN,
                    "created_at": r["submitted_at"], "report_id": r["_id"], "round_id": r["round_id"],
                    "status": "approved", "reviewed_at": r["submitted_at"]} for r in reports[::20]]
        write(reviews, "reviews")  # the read models followed every write
        with get_store().writing() as conn:
            conn.execute(server_meta.insert().values(key=SEEDED, value=json.dumps(
                {"villages": villages, "start": start.isoformat(), "today": today.isoformat(), "counts": counts})))
    counts["seconds"] = round(time.perf_counter() - began, 1)
    return counts


def _dispute(rng: random.Random, doc_id: str, area: str, when: dt.datetime, today: dt.date) -> dict:
    accepted = when + dt.timedelta(hours=rng.choice([2, 6, 20, 30, 50]))
    doc = {"_id": doc_id, "type": "dispute", "area": area, "created_by": ADMIN, "created_at": _stamp(when),
           "accepted_at": _stamp(accepted), "summary": "基准测试纠纷：" + "宅基地界线争议，" * 10,
           "parties": [{"name": "王建国", "role": "applicant"}, {"name": "李秀兰", "role": "respondent"}],
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


# -- timing ------------------------------------------------------------------------------------------------

def login(client, name: str) -> None:
    page = client.get("/ledger/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/ledger/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302, (r.status_code, r.text[:300])


def pages(today: dt.date, start: dt.date, area: str) -> list[tuple[str, str]]:
    year = f"since={start.isoformat()}&until={today.isoformat()}"
    village = area + "001" if len(area) == 9 else area + "001001"
    return [
        ("dashboard", "/ledger/"),
        ("ledger p1 (90 days)", "/ledger/ledger"),
        ("ledger p40 (90 days)", "/ledger/ledger?page=40"),
        ("ledger year p1", f"/ledger/ledger?{year}"),
        ("ledger year last page", f"/ledger/ledger?{year}&page=LAST"),
        ("ledger overdue", "/ledger/ledger?status=not_submitted"),
        ("ledger reviewed", "/ledger/ledger?review=approved"),
        ("ledger one village", f"/ledger/ledger?area={village}&{year}"),
        ("figures (90 days)", "/ledger/figures"),
        ("figures year", f"/ledger/figures?{year}"),
        ("quarterly", "/ledger/quarterly"),
        ("map", "/ledger/map"),
        ("disputes", "/ledger/disputes"),
        ("disputes open key", "/ledger/disputes?open=1&key=1"),
        ("disputes p20", "/ledger/disputes?page=20"),
        ("disputes behind figure", "/ledger/disputes?metric=on_time_resolution"),
        ("supervision room", "/ledger/room"),
        ("monthly bulletin", "/ledger/bulletin"),
        ("annual assessment", "/ledger/bulletin?kind=year"),
        ("bulletin xlsx", "/ledger/bulletin.xlsx"),
        ("export csv (90 days)", "/ledger/ledger.csv"),
        ("export xlsx (90 days)", "/ledger/ledger.xlsx"),
        ("export xlsx year", f"/ledger/ledger.xlsx?{year}"),
    ]


def time_page(client, path: str, runs: int) -> dict:
    if "page=LAST" in path:
        first = client.get(path.replace("&page=LAST", ""))
        found = re.findall(r"page=(\d+)", first.text)
        path = path.replace("LAST", str(max([int(p) for p in found] + [1])))
    r = client.get(path)  # warm-up
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        r = client.get(path)
        body = r.get_data()
        times.append(time.perf_counter() - began)
        assert r.status_code == 200, (path, r.status_code)
    return {"path": path, "median_s": round(statistics.median(times), 4), "min_s": round(min(times), 4),
            "bytes": len(body)}


def save(name: str, payload: dict) -> Path:
    import platform

    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    machine = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    path.write_text(json.dumps({"machine": machine, **payload}, indent=2, ensure_ascii=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--villages", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--db", help="SQLite file / PostgreSQL database to seed once and reuse")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--label", default="run")
    parser.add_argument("--profile", help="profile one request of this path (district supervisor)")
    parser.add_argument("--only", choices=("district", "township"))
    args = parser.parse_args()

    url, fresh = database_url(args.store, args.db)
    today = dt.date.today()
    start = today - dt.timedelta(days=args.days)
    if not fresh:
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                meta = conn.execute(sa.text("SELECT value FROM sync_server_meta WHERE key = :k"), {"k": SEEDED}).scalar()
        except sa.exc.DBAPIError:
            meta = None
        engine.dispose()
        if meta:
            info = json.loads(meta)
            start, today = dt.date.fromisoformat(info["start"]), dt.date.fromisoformat(info["today"])
    app = make_app(url, start)
    with app.app_context():
        from server.core.db import db
        from sync.tables import server_meta
        import sqlalchemy as sa

        meta = db.session.execute(sa.select(server_meta.c.value).where(server_meta.c.key == SEEDED)).scalar()
        db.session.commit()
    if meta:
        seeded = json.loads(meta)
        print(f"store {url}: already seeded {seeded['counts']}", flush=True)
    else:
        print(f"seeding {args.villages} villages, {start}..{today} into {url}", flush=True)
        seeded = {"counts": seed(app, args.villages, start, today)}
        print(f"seeded: {seeded['counts']}", flush=True)

    if args.profile:
        client = app.test_client()
        login(client, SUPERVISOR)
        client.get(args.profile)
        profiler = cProfile.Profile()
        profiler.enable()
        r = client.get(args.profile)
        profiler.disable()
        print(args.profile, r.status_code, len(r.get_data()))
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        return

    results = {}
    for who, area in ((SUPERVISOR, DISTRICT), (TOWNSHIP_USER, OWN_TOWNSHIP)):
        if args.only and not who.endswith(args.only):
            continue
        client = app.test_client()
        login(client, who)
        for name, path in pages(today, start, area):
            # the default window ends today: pin it to the seeded "today" (pages without a window ignore it)
            if "until=" not in path:
                path += ("&" if "?" in path else "?") + f"until={today.isoformat()}"
            row = time_page(client, path, args.runs)
            results.setdefault(name, {})[who] = row
            print(f"{name:28s} {who:15s} {row['median_s']:8.3f} s  {row['bytes']:>9d} B", flush=True)
    print()
    print(f"| page | district ({SUPERVISOR}) | township ({TOWNSHIP_USER}) |")
    print("|---|---:|---:|")
    for name, by in results.items():
        cells = [f"{by[w]['median_s']:.3f} s" if w in by else "" for w in (SUPERVISOR, TOWNSHIP_USER)]
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    path = save(f"ledger_pages-{args.store}-{args.label}", {
        "store": args.store, "villages": args.villages, "window": [start.isoformat(), today.isoformat()],
        "seeded": seeded["counts"], "runs": args.runs, "pages": results})
    print(f"saved {path}")


if __name__ == "__main__":
    main()
