"""Paicha and pouchdb-server side by side over a simulated 2G link, with real PouchDB 9 phones.

    .venv/bin/python -m bench.weaklink [--store sqlite|postgresql] [--scenarios 1,2,3] [--runs N]
                                       [--bandwidth B/s] [--delay S] [--store-docs N]

Each scenario's client paths run against both servers, each through a fresh simulated link; the table
gives the phone's time and what crossed the link (bytes up, down, HTTP requests) and their ratios
(pouchdb-server's / Paicha's: > 1, Paicha is better). Results, with the machine's description and
load, go to bench/results/weaklink-<store>-<time>.json. See bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .control import SimulatedLink
from .proxy import LinkProfile
from .report import describe_requests, table
from .scenarios import SCENARIOS, VILLAGE_DOCS, Trial
from .servers import REPO, Stores, start_paicha, start_pouchdb_server

RESULTS = REPO / "bench" / "results"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run_once(scenario, path_name, path, side, profile: LinkProfile, work: Path) -> dict:
    tag = f"{scenario.key[:1]}{time.monotonic_ns() % 10**9:09d}"
    with SimulatedLink(side.server.url, profile) as link:
        if scenario.cut:
            link.plan(scenario.cut)
        trial = Trial(side, f"{link.url}/{side.database}", work / f"{scenario.key}-{path_name}-{side.name}-{tag}",
                      tag, link)
        phone = path(trial)
        time.sleep(2 * profile.delay_s + 0.1)  # the last bytes (a closing connection's) land
        link_counters = link.counters()
    return {"seconds": round(phone["seconds"], 2), "bytes_up": link_counters["bytes_up"],
            "bytes_down": link_counters["bytes_down"], "requests": link_counters["requests"],
            "connections": link_counters["connections"], "connections_refused": link_counters["connections_refused"],
            "connections_reset": link_counters["connections_reset"], "cuts": link_counters["cuts"],
            "attempts": len(phone.get("attempts", [])), "phone": phone, "exchanges": link_counters["exchanges"]}


def measure(scenario, path_name, path, side, profile, runs: int, work: Path) -> dict:
    """The run of median time among `runs`, with every run's time."""
    done = [run_once(scenario, path_name, path, side, profile, work) for _ in range(runs)]
    middle = sorted(done, key=lambda r: r["seconds"])[(len(done) - 1) // 2]
    return {**middle, "runs_s": [r["seconds"] for r in done]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--scenarios", default="1,2,3", help="which scenarios (1,2,3)")
    parser.add_argument("--runs", type=int, default=1, help="runs per scenario and server (the median is kept)")
    parser.add_argument("--bandwidth", type=float, default=8000, help="bytes per second, each way (default 8000)")
    parser.add_argument("--delay", type=float, default=0.25, help="one-way delay in seconds (default 0.25)")
    parser.add_argument("--store-docs", type=int, default=2000,
                        help=f"documents in each server's store, {VILLAGE_DOCS} of them in the phone's village")
    args = parser.parse_args()
    chosen = {s.strip() for s in args.scenarios.split(",") if s.strip()}
    scenarios = [s for s in SCENARIOS if s.key.split("_", 1)[0] in chosen]
    profile = LinkProfile(up_bandwidth=args.bandwidth, down_bandwidth=args.bandwidth, delay_s=args.delay)

    from bench.run import machine  # the same description as bench/run.py's results

    about = {**machine(args.store), "uptime_at_start": uptime()}
    log(f"load: {about['uptime_at_start']}")
    tmp = Path(tempfile.mkdtemp(prefix="paicha-weaklink-"))
    stores = Stores(tmp)
    sides = []
    results: dict = {}
    started = time.time()
    try:
        log(f"starting Paicha ({args.store}) and pouchdb-server, {args.store_docs:,} docs each")
        sides.append(start_paicha(args.store, stores, args.store_docs, VILLAGE_DOCS))
        sides.append(start_pouchdb_server(tmp / "pouchdb-server", args.store_docs, VILLAGE_DOCS))
        for scenario in scenarios:
            for path_name, path in scenario.paths.items():
                row = results.setdefault(scenario.key, {"label": scenario.label, "title": scenario.title,
                                                       "paths": {}})
                for side in sides:
                    if getattr(path, "paicha_only", False) and side.name != "paicha":
                        continue
                    log(f"{scenario.key} / {path_name} / {side.name}")
                    row["paths"].setdefault(path_name, {})[side.name] = measure(
                        scenario, path_name, path, side, profile, args.runs, tmp / "phones")
                    got = row["paths"][path_name][side.name]
                    log(f"  {got['seconds']} s, {got['bytes_up']:,} B up, {got['bytes_down']:,} B down, "
                        f"{got['requests']} requests")
        about["uptime_at_end"] = uptime()
        text = table(results, profile, args.store, about)
        print(text, flush=True)
        print(describe_requests(results), flush=True)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"weaklink-{args.store}-{time.strftime('%Y%m%dT%H%M%S')}.json"
        out.write_text(json.dumps({"benchmark": "python -m bench.weaklink", "machine": about,
                                   "link": profile.__dict__, "store_docs": args.store_docs, "runs": args.runs,
                                   "seconds": round(time.time() - started),
                                   "servers": {s.name: s.notes for s in sides}, "table": text,
                                   "results": results}, indent=2, ensure_ascii=False))
        print(f"saved {out.relative_to(REPO)}", flush=True)
    finally:
        for side in sides:
            side.stop()
        stores.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
