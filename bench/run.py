"""Paicha vs pouchdb-server, side by side, driven by the same real PouchDB client (see bench/README.md).

    .venv/bin/python bench/run.py [--store sqlite|postgresql|both] [--quick] [--large N] [--pouch-large N]
                                  [--rows 1,2,3,4,5,6]

Every row runs both servers in the same run on this machine and prints their ratio. Results go to
bench/results/bench-<store>-<time>.json together with a description of the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "bench")]

from seed import OWN_VILLAGE, PASSWORD, FILLER_VILLAGES  # noqa: E402
from support.server import PouchDBServerProcess, ServerProcess  # noqa: E402
from support.stores import Stores  # noqa: E402

PY = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv/bin/python").exists() else sys.executable
BENCH_JS = REPO / "bench" / "node" / "bench.js"
RESULTS = REPO / "bench" / "results"

FULL = dict(push=10_000, large=1_000_000, small=10_000, devices=200, device_docs=50, rounds=100, runs=3,
            row4_limit_s=240)
QUICK = dict(push=1_000, large=50_000, small=10_000, devices=20, device_docs=50, rounds=20, runs=3, row4_limit_s=300)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def node(command: str, args: dict, timeout: float = 3600) -> dict:
    proc = subprocess.run(["node", str(BENCH_JS), command, "-"], input=json.dumps(args), capture_output=True,
                          text=True, timeout=timeout)
    if os.environ.get("BENCH_TRACE"):  # bench.js traces every request on stderr: keep it, appended
        with open(os.environ["BENCH_TRACE"], "a", encoding="utf-8") as trace:
            trace.write(f"## {command}\n{proc.stderr}")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    out = json.loads(lines[-1]) if lines else {"error": "no output", "reason": proc.stderr[-2000:]}
    if proc.returncode != 0 or "error" in out:
        raise RuntimeError(f"bench.js {command} failed: {out} {proc.stderr[-2000:]}")
    return out


def r2(x):
    return None if x is None else round(x, 2)


def node_or_dnf(command: str, args: dict, limit_s: float) -> dict:
    """A measurement that may not finish: after `limit_s` it is recorded as such (all fields None)."""
    try:
        return node(command, args, timeout=limit_s)
    except subprocess.TimeoutExpired:
        log(f"{command} did not finish in {limit_s:.0f} s")
        empty = {"seconds": None, "latency": {"p50_ms": None, "p99_ms": None}, "errors": None,
                 "did_not_finish_s": limit_s}
        return {**empty, "rounds": [empty, empty]}


def machine(store: str) -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal")))
    except (OSError, StopIteration):
        mem_kb = 0
    node_version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    pg = ""
    if store == "postgresql":
        try:
            from support.stores import _pg_connect
            with _pg_connect() as conn:
                pg = conn.execute("SHOW server_version").fetchone()[0]
        except Exception as exc:  # noqa: BLE001
            pg = f"unknown ({exc})"
    import sqlite3
    return {"cpus": os.cpu_count(), "cpu_model": model, "ram_gb": round(mem_kb / 1024 / 1024, 1),
            "os": platform.platform(), "python": platform.python_version(), "node": node_version,
            "sqlite": sqlite3.sqlite_version, "postgresql": pg or None, "store": store,
            "loadavg_at_start": os.getloadavg()}


# -- memory of a server's processes ---------------------------------------------------------------
def tree_pids(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry))
            except (OSError, IndexError):
                pass
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        except (OSError, IndexError):
            pass
    return total


def database_cpu_seconds() -> float:
    """CPU seconds of the local PostgreSQL server so far: its live processes, plus what its exited
    backends left in the postmaster's children counters. 0 when it is not running here."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if not _is_postgres(entry):
                continue
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            is_postmaster = not _is_postgres(fields[1])
        except OSError:
            continue
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        if is_postmaster:
            ticks += int(fields[13]) + int(fields[14])  # its exited children's cutime + cstime
        total += ticks / os.sysconf("SC_CLK_TCK")
    return total


def _is_postgres(pid: str) -> bool:
    return Path(f"/proc/{pid}/comm").read_text().strip() in ("postgres", "postmaster")


def with_server_cpu(server, call, database: bool = False) -> dict:
    """`call()`'s result, plus the CPU seconds the server's processes spent meanwhile (a steadier
    figure than wall time on a shared machine), the client's (`node`, run by `call`), and with
    `database` the PostgreSQL server's: together they say whose work a wall time is."""
    before = cpu_seconds(tree_pids(server.proc.pid))
    client_before = os.times()
    database_before = database_cpu_seconds() if database else 0.0
    out = call()
    out["server_cpu_s"] = round(cpu_seconds(tree_pids(server.proc.pid)) - before, 2)
    client_after = os.times()
    out["client_cpu_s"] = round(client_after.children_user + client_after.children_system
                                - client_before.children_user - client_before.children_system, 2)
    if database:
        out["database_cpu_s"] = round(database_cpu_seconds() - database_before, 2)
    return out


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def stream_changes_memory(server, db_url: str, auth) -> dict:
    """Stream the whole `_changes` (normal feed) while sampling the server's RSS every 50 ms."""
    pids = tree_pids(server.proc.pid)
    samples: list[tuple[int, float]] = []
    rows = [0]
    done = threading.Event()

    def sampler():
        while not done.is_set():
            samples.append((rows[0], rss_mb(pids)))
            time.sleep(0.05)

    before = rss_mb(pids)
    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    start = time.perf_counter()
    with requests.get(db_url + "/_changes", params={"feed": "normal", "style": "all_docs"}, auth=auth,
                      stream=True, timeout=3600) as r:
        r.raise_for_status()
        tail = b""
        for chunk in r.iter_content(chunk_size=65536):
            data = tail + chunk
            rows[0] += data.count(b'"changes":')
            tail = data[-9:] if not data.endswith(b'"changes":') else b""
    seconds = time.perf_counter() - start
    done.set()
    thread.join()
    total = rows[0]
    first_tenth = [mb for n, mb in samples if n <= total / 10] or [before]
    peak = max([mb for _, mb in samples] or [before])
    return {"rows": total, "seconds": round(seconds, 1), "rss_before_mb": round(before, 1),
            "rss_peak_first_10pct_mb": round(max(first_tenth), 1), "rss_peak_mb": round(peak, 1),
            "growth_after_first_10pct_mb": round(peak - max(first_tenth), 1), "processes": len(pids)}


# -- the servers --------------------------------------------------------------------------------------
class Ours:
    def __init__(self, stores: Stores, kind: str, tmp: Path, env: dict | None = None):
        self.stores, self.kind, self.tmp, self.env = stores, kind, tmp, env or {}

    def store(self, docs: int, devices: int, name: str) -> ServerProcess:
        url = self.stores.new(self.kind)
        log(f"ours/{self.kind}: seeding {docs:,} docs ({name})")
        proc = subprocess.run([PY, str(REPO / "bench" / "seed.py"), url, "--docs", str(docs),
                               "--accounts", str(devices)], capture_output=True, text=True, cwd=REPO)
        if proc.returncode != 0:
            raise RuntimeError(f"seed failed: {proc.stderr[-3000:]}")
        seeded = json.loads(proc.stdout.strip().splitlines()[-1])
        log(f"ours/{self.kind}: seeded in {seeded['seconds']} s")
        server = ServerProcess(url, name=f"bench-{self.kind}-{name}", env={"PAICHA_LOG_LEVEL": "WARNING",
                                                                           **self.env}).start()
        server.seed_seconds = seeded["seconds"]
        return server


def reuse(pouch_cache: dict, key: str, measure):
    """pouchdb-server's side of the slow rows (3, 4, 6) does not depend on our store: measured once per
    run (in the first store's pass) and reused by the next, or taken from --reuse-pouch."""
    if key not in pouch_cache:
        pouch_cache[key] = measure()
        pouch_cache.setdefault("measured", {})[key] = time.strftime("%Y-%m-%dT%H:%M:%S")
    return pouch_cache[key]


def cadre(name: str = "bench-cadre") -> dict:
    return {"username": name, "password": PASSWORD}


def throughput(n: int, o: dict, p: dict, **extra) -> dict:
    """A row 1/2 result entry: both sides' times and docs/s for `n` docs, and their ratio; and the
    highest ratio this client allows: our run cannot take less time than the client's thread was busy
    in it, whatever our server does."""
    busy = (o.get("client_thread") or {}).get("busy_s")
    return {"docs": n, "ours_s": round(o["seconds"], 2), "pouch_s": round(p["seconds"], 2),
            "ours_docs_per_s": round(n / o["seconds"]), "pouch_docs_per_s": round(n / p["seconds"]),
            "ratio": ratio(n / o["seconds"], n / p["seconds"], True),
            "client_bound_ratio": ratio(p["seconds"], busy, True), **extra, "ours": o, "pouch": p}


def ratio(ours: float | None, theirs: float | None, higher_is_better: bool) -> float | None:
    if not ours or not theirs:
        return None
    return round(ours / theirs if higher_is_better else theirs / ours, 2)


def run_store(kind: str, sizes: dict, rows: set[int], pouch_large: int, tmp: Path, stores: Stores,
              pouch_cache: dict) -> dict:
    ours = Ours(stores, kind, tmp)
    results: dict = {}
    dev = lambda name: str(tmp / "devices" / f"{name}-{time.monotonic_ns()}")  # noqa: E731

    def on_ours(call) -> dict:  # our server's run, with its (and PostgreSQL's) CPU
        return with_server_cpu(main, call, database=kind == "postgresql")

    pouch = pouch_cache.get("server")
    if pouch is None:
        pouch = PouchDBServerProcess(str(tmp / "pouchdb-server"), name="bench-pouchdb-server").start()
        pouch_cache["server"] = pouch
    pauth = {"username": pouch.admin_user, "password": pouch.admin_password}

    def pouch_db(name: str, seed_docs: int = 0) -> str:
        key = f"db:{name}"
        if key not in pouch_cache:
            url = f"{pouch.url}/{name}"
            requests.put(url, auth=pouch.auth, timeout=60).raise_for_status()
            if seed_docs:
                log(f"pouchdb-server: seeding {seed_docs:,} docs into /{name}")
                out = node("seed", {"remote": url, "auth": pauth, "total": seed_docs, "own": 200,
                                    "concurrency": 2, "progress": True}, timeout=24 * 3600)
                log(f"pouchdb-server: seeded in {out['seconds']:.0f} s")
                pouch_cache[f"seed:{name}"] = round(out["seconds"], 1)
            else:
                node("seed", {"remote": url, "auth": pauth, "total": 0, "own": 0})  # the filter design doc
            pouch_cache[key] = url
        return pouch_cache[key]

    # Rows 1, 2, 4, 5: a store that starts empty (plus accounts).
    if rows & {1, 2, 4, 5}:
        main = ours.store(0, sizes["devices"], "main")
        try:
            pmain = pouch_db(f"main-{kind}")
            if 1 in rows or 2 in rows:
                n = sizes["push"]
                log(f"row 1: push {n:,}")
                docs = {"count": n, "prefix": "push", "area": OWN_VILLAGE, "created_by": "bench-cadre"}
                o = on_ours(lambda: node("push", {"dir": dev("push-o"), "remote": main.url + "/paicha",
                                                  "auth": cadre(), **docs}))
                p = with_server_cpu(pouch, lambda: node("push", {"dir": dev("push-p"), "remote": pmain, "auth": pauth,
                                                                 **docs}))
                for side in (o, p):
                    assert side["result"]["docs_written"] == n, side
                results["1_push"] = throughput(n, o, p, target=">= 1.5")
                log(f"row 2: pull {n:,}")
                o = on_ours(lambda: node("pull", {"dir": dev("pull-o"), "remote": main.url + "/paicha",
                                                  "auth": cadre()}))
                p = with_server_cpu(pouch, lambda: node("pull", {"dir": dev("pull-p"), "remote": pmain, "auth": pauth}))
                assert o["local_docs"] >= n and p["local_docs"] >= n, (o, p)
                results["2_pull"] = throughput(n, o, p, target=">= 1.5")
            if 1 in rows or 2 in rows:
                # The same push and pull into a plain database (CouchDB semantics: no schema, no write
                # rules, no audit trail), as pouchdb-server does them: the engine alone.
                n = sizes["push"]
                admin = cadre("bench-admin")
                requests.put(main.url + "/plain", auth=("bench-admin", PASSWORD), timeout=60).raise_for_status()
                log(f"rows 1-2, plain database: push and pull {n:,}")
                docs = {"count": n, "prefix": "push", "area": OWN_VILLAGE, "created_by": "bench-cadre"}
                o = on_ours(lambda: node("push", {"dir": dev("ppush-o"), "remote": main.url + "/plain",
                                                  "auth": admin, **docs}))
                p = with_server_cpu(pouch, lambda: node("push", {"dir": dev("ppush-p"),
                                                                 "remote": pouch_db(f"plain-{kind}"), "auth": pauth, **docs}))
                results["1b_push_plain"] = throughput(n, o, p)
                o = on_ours(lambda: node("pull", {"dir": dev("ppull-o"), "remote": main.url + "/plain",
                                                  "auth": admin}))
                p = with_server_cpu(pouch, lambda: node("pull", {"dir": dev("ppull-p"),
                                                                 "remote": pouch_db(f"plain-{kind}"), "auth": pauth}))
                results["2b_pull_plain"] = throughput(n, o, p)
            if 4 in rows:
                count = sizes["devices"]
                log(f"row 4: {count} devices at once")
                devices = [{"name": f"dev-{i:03d}", "area": FILLER_VILLAGES[i], "auth": cadre(f"dev-{i:03d}")}
                           for i in range(count)]
                # Our phones log in once through the mobile API and sync with their bearer tokens, as
                # the field app does; pouchdb-server's send Basic credentials with every request.
                o = on_ours(lambda: node("concurrent", {
                    "dir": dev("conc-o"), "remote": main.url + "/paicha", "devices": devices,
                    "docs": sizes["device_docs"], "rounds": 2, "login": main.url + "/api/v1/auth/login"}))
                pdevices = [{**d, "auth": pauth} for d in devices]
                p = reuse(pouch_cache, "row4", lambda: node_or_dnf("concurrent", {
                    "dir": dev("conc-p"), "remote": pmain, "devices": pdevices, "docs": sizes["device_docs"],
                    "filter": True, "rounds": 2}, sizes["row4_limit_s"]))
                if p.get("did_not_finish_s") and "restarted" not in pouch_cache:
                    # It keeps working on the abandoned requests (GBs of RAM, a full core): start it
                    # afresh (same directory) so it does not weigh on the next rows.
                    log("pouchdb-server: restarting after the unfinished row 4")
                    pouch.restart(kill=True)
                    pouch_cache["restarted"] = True
                ow, pw = o["rounds"][1], p["rounds"][1]
                results["4_concurrent"] = {
                    "devices": count, "docs_each": sizes["device_docs"],
                    "ours_s": round(o["seconds"], 2), "pouch_s": r2(p["seconds"]),
                    "ours_p50_ms": o["latency"]["p50_ms"], "ours_p99_ms": o["latency"]["p99_ms"],
                    "pouch_p50_ms": p["latency"]["p50_ms"], "pouch_p99_ms": p["latency"]["p99_ms"],
                    "ours_errors": o["errors"], "pouch_errors": p["errors"], "ours_logins": o.get("logins"),
                    "ratio": ratio(o["seconds"], p["seconds"], False), "target": "no errors, p99 < 1000 ms",
                    "warm": {"ours_s": round(ow["seconds"], 2), "pouch_s": r2(pw["seconds"]),
                             "ours_p50_ms": ow["latency"]["p50_ms"], "ours_p99_ms": ow["latency"]["p99_ms"],
                             "pouch_p50_ms": pw["latency"]["p50_ms"], "pouch_p99_ms": pw["latency"]["p99_ms"],
                             "ours_errors": ow["errors"], "pouch_errors": pw["errors"],
                             "ratio": ratio(ow["seconds"], pw["seconds"], False)},
                    "ours": o, "pouch": p}
            if 5 in rows:
                log(f"row 5: longpoll latency, {sizes['rounds']} writes")
                o = node("longpoll", {"dir": dev("lp-o"), "remote": main.url + "/paicha", "area": OWN_VILLAGE,
                                      "writer_auth": cadre("bench-cadre"), "reader_auth": cadre("bench-cadre2"),
                                      "rounds": sizes["rounds"]})
                p = node("longpoll", {"dir": dev("lp-p"), "remote": pmain, "area": OWN_VILLAGE, "filter": True,
                                      "writer_auth": {**pauth, "username": pauth["username"]}, "reader_auth": pauth,
                                      "rounds": sizes["rounds"]})
                results["5_longpoll"] = {
                    "rounds": sizes["rounds"], "ours_p50_ms": o["latency"]["p50_ms"],
                    "ours_p99_ms": o["latency"]["p99_ms"], "pouch_p50_ms": p["latency"]["p50_ms"],
                    "pouch_p99_ms": p["latency"]["p99_ms"], "ours_errors": o["errors"], "pouch_errors": p["errors"],
                    "ratio": ratio(o["latency"]["p50_ms"], p["latency"]["p50_ms"], False), "target": "p50 < 50 ms",
                    "ours": o, "pouch": p}
        finally:
            main.stop()

    if rows & {3, 6}:
        small = ours.store(sizes["small"], 0, "small") if 3 in rows else None
        try:
            large = ours.store(sizes["large"], 0, "large")
        except Exception:
            if small:
                small.stop()
            raise
        try:
            need_pouch_large = (3 in rows and "row3" not in pouch_cache) or (6 in rows and "row6" not in pouch_cache)
            plarge_url = pouch_db("large", pouch_large) if need_pouch_large else None
            if 3 in rows:
                log("row 3: village pull, our small and large stores taking turns, then pouchdb-server")
                small_times, o_runs = [], []
                try:
                    for _ in range(sizes["runs"]):
                        small_times.append(node("pull", {"dir": dev("s-o"), "remote": small.url + "/paicha",
                                                         "auth": cadre()})["seconds"])
                        o_runs.append(node("pull", {"dir": dev("l-o"), "remote": large.url + "/paicha",
                                                    "auth": cadre()}))
                finally:
                    small.stop()
                p_runs = reuse(pouch_cache, "row3", lambda: [
                    node("pull", {"dir": dev("l-p"), "remote": plarge_url, "auth": pauth, "area": OWN_VILLAGE},
                         timeout=3 * 3600)
                    for _ in range(1 if sizes["runs"] > 1 and pouch_large >= 500_000 else sizes["runs"])])
                for run in o_runs + p_runs:
                    assert run["local_docs"] == 200, run
                o_s = statistics.median(r["seconds"] for r in o_runs)
                p_s = statistics.median(r["seconds"] for r in p_runs)
                s_s = statistics.median(small_times)
                results["3_scope_pull"] = {
                    "village_docs": 200, "ours_store_docs": sizes["large"], "pouch_store_docs": pouch_large,
                    "ours_s": round(o_s, 3), "pouch_s": round(p_s, 3), "ours_small_store_s": round(s_s, 3),
                    "ours_runs_s": [round(r["seconds"], 3) for r in o_runs],
                    "pouch_runs_s": [round(r["seconds"], 3) for r in p_runs],
                    "ours_small_runs_s": [round(t, 3) for t in small_times],
                    "ratio": ratio(o_s, p_s, False), "large_vs_small": round(o_s / s_s, 2),
                    "target": ">= 50x pouchdb-server; large/small <= 1.5", "ours_seed_s": large.seed_seconds,
                    "pouch_seed_s": pouch_cache.get("seed:large"), "ours_by_endpoint": o_runs[-1]["by_endpoint"],
                    "pouch_by_endpoint": p_runs[-1]["by_endpoint"]}
            if 6 in rows:
                log("row 6: memory while streaming the whole _changes")
                o = stream_changes_memory(large, large.url + "/paicha", ("bench-admin", PASSWORD))
                p = reuse(pouch_cache, "row6", lambda: stream_changes_memory(pouch, plarge_url, pouch.auth))
                results["6_memory"] = {"ours": o, "pouch": p, "ratio": ratio(o["rss_peak_mb"], p["rss_peak_mb"], False),
                                       "target": "flat: growth after the first 10% ~ 0"}
        finally:
            large.stop()
    return results


def fmt_table(kind: str, r: dict) -> str:
    lines = [f"\nPaicha ({kind}, {os.environ.get('WEB_WORKERS', '1')} worker(s)) vs pouchdb-server 4.2.0, "
             f"same machine, same run, same PouchDB 9 client (connections: {r.get('client_connections', 'close')})",
             f"{'row':<44} {'paicha':>22} {'pouchdb-server':>22} {'ratio':>7}  target"]

    def row(name, ours, theirs, rat, target):
        lines.append(f"{name:<44} {ours:>22} {theirs:>22} {('x' + str(rat)) if rat else '-':>7}  {target}")

    def server_cpu(x):
        o, p = x["ours"].get("server_cpu_s"), x["pouch"].get("server_cpu_s")
        if o is not None and p is not None:
            row("  server CPU seconds", f"{o}", f"{p}", ratio(o, p, False), "")
        o, p = x["ours"].get("client_cpu_s"), x["pouch"].get("client_cpu_s")
        if o is not None and p is not None:
            row("  client (PouchDB) CPU seconds", f"{o}", f"{p}", None, "")
        if x["ours"].get("database_cpu_s") is not None:
            row("  PostgreSQL CPU seconds", f"{x['ours']['database_cpu_s']}", "", None, "")
        o, p = x["ours"].get("client_thread"), x["pouch"].get("client_thread")
        if o and p:
            row("  client's thread busy: s (share of the wall)", busy_text(o), busy_text(p), None, "")
        if x.get("client_bound_ratio"):
            row("  highest ratio this client allows", "", "", x["client_bound_ratio"],
                "their time / our client's busy time")

    def loop_delay_row(name, ours, theirs):
        # The wait of a response that has arrived for the client's one thread, inside every latency above.
        shown = [f"{d['p50_ms']} / {d['p99_ms']}" if d else "" for d in
                 (ours.get("client_loop_delay"), theirs.get("client_loop_delay"))]
        if shown[0]:
            row(name, shown[0], shown[1], None, "")

    def busy_row(name, ours):
        if ours.get("client_thread"):
            row(name, busy_text(ours["client_thread"]), "", None, "")

    for key, label, target in (("1_push", "1 push {:,} docs", ">= x1.5 "), ("2_pull", "2 pull {:,} docs", ">= x1.5 "),
                               ("1b_push_plain", "1b push {:,}, plain database", "(engine alone) "),
                               ("2b_pull_plain", "2b pull {:,}, plain database", "(engine alone) ")):
        if key in r:
            x = r[key]
            row(label.format(x["docs"]) + " (docs/s)", f"{x['ours_docs_per_s']:,} ({x['ours_s']} s)",
                f"{x['pouch_docs_per_s']:,} ({x['pouch_s']} s)", x["ratio"], target + ok(x["ratio"] >= 1.5))
            server_cpu(x)
    if "3_scope_pull" in r:
        x = r["3_scope_pull"]
        row(f"3 village pull, 200 of {x['ours_store_docs']:,} / {x['pouch_store_docs']:,}", f"{x['ours_s']} s",
            f"{x['pouch_s']} s", x["ratio"], ">= x50 " + ok(x["ratio"] >= 50))
        row(f"  ours: same village in a {r.get('small_docs', 10_000):,} store", f"{x['ours_small_store_s']} s",
            "", None, f"large/small {x['large_vs_small']} <= 1.5 " + ok(x["large_vs_small"] <= 1.5))
    if "4_concurrent" in r:
        x = r["4_concurrent"]
        dnf = x["pouch"].get("did_not_finish_s")
        logins = x.get("ours_logins")
        if logins:
            row(f"4a {x['devices']} logins at once: s, p50 / p99 ms",
                f"{logins['seconds']:.2f}, {logins['latency']['p50_ms']:.0f} / {logins['latency']['p99_ms']:.0f}",
                "(Basic)", None, "")
        row(f"4 {x['devices']} devices at once (first sync): total", f"{x['ours_s']} s",
            f"DNF in {dnf:.0f} s" if dnf else f"{x['pouch_s']} s", x["ratio"], "")
        row("  request latency p50 / p99 (ms)", f"{x['ours_p50_ms']} / {x['ours_p99_ms']}",
            f"{x['pouch_p50_ms']} / {x['pouch_p99_ms']}", None,
            "p99 < 1000 " + ok(x["ours_p99_ms"] < 1000))
        loop_delay_row("  client's event-loop delay p50 / p99 (ms)", x["ours"], x["pouch"])
        busy_row("  client's thread busy: s (share of the wall)", x["ours"])
        row("  errors", str(x["ours_errors"]), str(x["pouch_errors"]), None, "0 " + ok(x["ours_errors"] == 0))
        if x["ours"].get("client_cpu_s") is not None:
            row("  ours, both rounds: CPU s server / client", f"{x['ours']['server_cpu_s']} / {x['ours']['client_cpu_s']}",
                "", None, f"PostgreSQL {x['ours']['database_cpu_s']}" if "database_cpu_s" in x["ours"] else "")
        w = x["warm"]
        row("  again, 50 more docs each: total", f"{w['ours_s']} s", f"{w['pouch_s']} s", w["ratio"], "")
        row("  again: latency p50 / p99 (ms), errors", f"{w['ours_p50_ms']} / {w['ours_p99_ms']}, {w['ours_errors']}",
            f"{w['pouch_p50_ms']} / {w['pouch_p99_ms']}, {w['pouch_errors']}", None,
            "p99 < 1000 " + ok(w["ours_p99_ms"] < 1000 and w["ours_errors"] == 0))
        last_round = {side: (x[side].get("rounds") or [{}])[-1] for side in ("ours", "pouch")}
        loop_delay_row("  again: client's event-loop delay p50 / p99 (ms)", last_round["ours"], last_round["pouch"])
        busy_row("  again: client's thread busy: s (share)", last_round["ours"])
    if "5_longpoll" in r:
        x = r["5_longpoll"]
        row("5 live write A -> B, p50 / p99 (ms)", f"{x['ours_p50_ms']} / {x['ours_p99_ms']}",
            f"{x['pouch_p50_ms']} / {x['pouch_p99_ms']}", x["ratio"], "p50 < 50 " + ok(x["ours_p50_ms"] < 50))
    if "6_memory" in r:
        x = r["6_memory"]
        o, p = x["ours"], x["pouch"]
        row(f"6 RSS streaming _changes ({o['rows']:,} / {p['rows']:,} rows)",
            f"{o['rss_before_mb']:.0f}->{o['rss_peak_mb']:.0f} MB", f"{p['rss_before_mb']:.0f}->{p['rss_peak_mb']:.0f} MB",
            x["ratio"], "flat")
        row("  growth after the first 10% of the feed", f"{o['growth_after_first_10pct_mb']} MB",
            f"{p['growth_after_first_10pct_mb']} MB", None, ok(o["growth_after_first_10pct_mb"] < 20))
        row("  feed time", f"{o['seconds']} s", f"{p['seconds']} s", ratio(o["seconds"], p["seconds"], False), "")
    if r.get("pouch_note"):
        lines.append(r["pouch_note"])
    return "\n".join(lines)


def busy_text(client_thread: dict) -> str:
    """How long the client's thread was busy, and its share of the row's wall time."""
    return f"{client_thread['busy_s']} ({client_thread['utilization']:.0%})"


def ok(flag: bool) -> str:
    return "MET" if flag else "NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every row")
    parser.add_argument("--large", type=int, help="documents in our large store (default 1 000 000)")
    parser.add_argument("--pouch-large", type=int,
                        help="documents in pouchdb-server's large store (default: as --large)")
    parser.add_argument("--devices", type=int, help="row 4 devices (default 200)")
    parser.add_argument("--rows", default="1,2,3,4,5,6")
    parser.add_argument("--reuse-pouch", metavar="RESULT_JSON",
                        help="take pouchdb-server's side of rows 3, 4 and 6 (the slow ones) from an earlier "
                             "result file of this machine instead of measuring it again (marked in the output)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "1")),
                        help="our server's gunicorn workers (WEB_WORKERS; default 1, as `make run`)")
    parser.add_argument("--client-close", action="store_true",
                        help="the client opens a connection per request (node-fetch's default), instead of "
                             "keeping them open as a phone's browser does")
    args = parser.parse_args()
    os.environ["WEB_WORKERS"] = str(args.workers)  # our server processes inherit it
    os.environ["BENCH_KEEPALIVE"] = "0" if args.client_close else "1"  # and bench.js
    sizes = dict(QUICK if args.quick else FULL)
    if args.large:
        sizes["large"] = args.large
    if args.devices:
        sizes["devices"] = args.devices
    pouch_large = args.pouch_large or sizes["large"]
    rows = {int(x) for x in args.rows.split(",") if x.strip()}
    kinds = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    tmp = Path(tempfile.mkdtemp(prefix="paicha-bench-"))
    stores = Stores(tmp)
    pouch_cache: dict = {}
    if args.reuse_pouch:
        earlier = json.loads(Path(args.reuse_pouch).read_text())
        r = earlier["results"]
        pouch_cache.update({"row3": [{"seconds": t, "local_docs": 200, "by_endpoint": r["3_scope_pull"].get("pouch_by_endpoint")}
                                     for t in r["3_scope_pull"]["pouch_runs_s"]] if "3_scope_pull" in r else None,
                            "row4": r["4_concurrent"]["pouch"] if "4_concurrent" in r else None,
                            "row6": r["6_memory"]["pouch"] if "6_memory" in r else None})
        pouch_cache = {k: v for k, v in pouch_cache.items() if v is not None}
        earlier_connections = r.get("client_connections", "close")
        pouch_cache["measured"] = {k: f"reused from {Path(args.reuse_pouch).name} (connections: {earlier_connections})"
                                   for k in ("row3", "row4", "row6") if k in pouch_cache}
        if "3_scope_pull" in r:
            pouch_large = r["3_scope_pull"]["pouch_store_docs"]
    tables = []
    try:
        for kind in kinds:
            started = time.time()
            results = run_store(kind, sizes, rows, pouch_large, tmp, stores, pouch_cache)
            results["small_docs"] = sizes["small"]
            results["client_connections"] = "close" if args.client_close else "keep-alive"
            measured = pouch_cache.get("measured", {})
            if measured:
                results["pouch_note"] = ("pouchdb-server's side of rows 3/4/6 measured once: "
                                         + ", ".join(f"row {k[3:]} {v}" for k, v in sorted(measured.items())))
            table = fmt_table(kind, results)
            print(table, flush=True)
            tables.append(table)
            RESULTS.mkdir(parents=True, exist_ok=True)
            path = RESULTS / f"bench-{kind}{'-quick' if args.quick else ''}-{time.strftime('%Y%m%dT%H%M%S')}.json"
            path.write_text(json.dumps({"benchmark": "bench/run.py", "machine": machine(kind), "sizes": sizes,
                                        "web_workers": args.workers,
                                        "pouch_large": pouch_large, "seconds": round(time.time() - started),
                                        "pouch_slow_rows_measured": pouch_cache.get("measured", {}),
                                        "table": table, "results": results}, indent=2, ensure_ascii=False))
            print(f"saved {path.relative_to(REPO)}", flush=True)
    finally:
        if pouch_cache.get("server"):
            pouch_cache["server"].stop()
        stores.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
