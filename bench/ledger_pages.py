"""Ledger pages at scale: a year of screening for 1 000 villages, every page timed.

    .venv/bin/python bench/ledger_pages.py --store sqlite|postgresql [--villages 1000] [--days 365]
        [--db PATH_OR_NAME] [--runs 3] [--label after] [--profile /ledger/figures] [--only district]

Seeds (once; `--db` keeps the store so later runs reuse it) a district of `--villages` villages with
`server.services.full_district` (the generator behind `flask full-district generate` and the tests'
full-size store): areas and village boundaries, the calendar's rounds, the cadres' reports, disputes,
households and geotagged visits, a few reviews, all through the store's rules.

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
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PASSWORD = "bench-password"
PG_ADMIN = os.environ.get("PAICHA_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


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
        ("search a name", "/ledger/search?q=%E5%BB%BA%E5%9B%BD"),  # 建国
        ("search a surname", "/ledger/search?q=%E7%8E%8B"),  # 王
        ("search words", "/ledger/search?q=%E5%AE%85%E5%9F%BA%E5%9C%B0%E7%95%8C%E7%BA%BF"),  # 宅基地界线
        ("search a number", f"/ledger/search?q={area[:6]}-2026-000123"),
        ("export csv (90 days)", "/ledger/ledger.csv"),
        ("export xlsx (90 days)", "/ledger/ledger.xlsx"),
        ("export csv year", f"/ledger/ledger.csv?{year}"),
        ("export xlsx year", f"/ledger/ledger.xlsx?{year}"),
        ("export disputes xlsx", "/ledger/disputes.xlsx"),
    ]


def is_export(path: str) -> bool:
    return re.search(r"\.(xlsx|csv)(\?|$)", path) is not None


def time_page(client, path: str, runs: int) -> dict:
    if "page=LAST" in path:
        first = client.get(path.replace("&page=LAST", ""))
        found = re.findall(r"page=(\d+)", first.text)
        path = path.replace("LAST", str(max([int(p) for p in found] + [1])))
    r = client.get(path)  # warm-up, read whole (an export is produced as it is read)
    warm = r.get_data()
    assert r.status_code == 200, (path, r.status_code, warm[:300])
    times, firsts = [], []
    for _ in range(runs):
        began = time.perf_counter()
        r = client.get(path, buffered=False)
        chunks = iter(r.response)
        size = len(next(chunks, b""))  # the first bytes the client would get
        firsts.append(time.perf_counter() - began)
        size += sum(len(c) for c in chunks)
        r.close()
        times.append(time.perf_counter() - began)
        assert r.status_code == 200, (path, r.status_code)
    out = {"path": path, "median_s": round(statistics.median(times), 4), "min_s": round(min(times), 4),
           "first_byte_s": round(statistics.median(firsts), 4), "bytes": size}
    if is_export(path):  # the most memory one export holds while it is produced (Python allocations)
        import tracemalloc

        tracemalloc.start()
        r = client.get(path, buffered=False)
        for _ in r.response:
            pass
        r.close()
        out["peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2 ** 20, 1)
        tracemalloc.stop()
    return out


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
    parser.add_argument("--exports", action="store_true", help="time the exports only")
    args = parser.parse_args()

    from server.services import full_district

    url, fresh = database_url(args.store, args.db)
    today = dt.date.today()
    start = today - dt.timedelta(days=args.days)
    if not fresh:
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                meta = conn.execute(sa.text("SELECT value FROM sync_server_meta WHERE key = :k"),
                                    {"k": full_district.GENERATED}).scalar()
        except sa.exc.DBAPIError:
            meta = None
        engine.dispose()
        if meta:
            info = full_district.Generated.from_json(meta)
            start, today = info.start, info.today
    app = make_app(url, start)
    with app.app_context():
        made = full_district.generated()
        if made:
            print(f"store {url}: already seeded {made.counts}", flush=True)
        else:
            print(f"seeding {args.villages} villages, {start}..{today} into {url}", flush=True)
            made = full_district.generate(app, args.villages, start, today, PASSWORD,
                                          progress=lambda line: print(f"  {line}", flush=True))
            print(f"seeded in {made.seconds} s: {made.counts}", flush=True)
    seeded = {"counts": {**made.counts, "seconds": made.seconds}}

    if args.profile:
        client = app.test_client()
        login(client, full_district.SUPERVISOR)
        client.get(args.profile).get_data()
        profiler = cProfile.Profile()
        profiler.enable()
        r = client.get(args.profile)
        profiler.disable()
        print(args.profile, r.status_code, len(r.get_data()))
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        return

    results = {}
    for who, area in ((full_district.SUPERVISOR, full_district.DISTRICT),
                      (full_district.TOWNSHIP_USER, full_district.OWN_TOWNSHIP)):
        if args.only and not who.endswith(args.only):
            continue
        client = app.test_client()
        login(client, who)
        for name, path in pages(today, start, area):
            if args.exports and not is_export(path):
                continue
            # the default window ends today: pin it to the seeded "today" (pages without a window ignore it)
            if "until=" not in path:
                path += ("&" if "?" in path else "?") + f"until={today.isoformat()}"
            row = time_page(client, path, args.runs)
            results.setdefault(name, {})[who] = row
            extra = (f"  first byte {row['first_byte_s']:.3f} s  peak {row['peak_mib']} MiB"
                     if "peak_mib" in row else "")
            print(f"{name:28s} {who:15s} {row['median_s']:8.3f} s  {row['bytes']:>9d} B{extra}", flush=True)
    print()
    supervisor, township_user = full_district.SUPERVISOR, full_district.TOWNSHIP_USER
    print(f"| page | district ({supervisor}) | township ({township_user}) |")
    print("|---|---:|---:|")
    for name, by in results.items():
        cells = [f"{by[w]['median_s']:.3f} s" if w in by else "" for w in (supervisor, township_user)]
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    path = save(f"ledger_pages-{args.store}-{args.label}", {
        "store": args.store, "villages": args.villages, "window": [start.isoformat(), today.isoformat()],
        "seeded": seeded["counts"], "runs": args.runs, "pages": results})
    print(f"saved {path}")


if __name__ == "__main__":
    main()
