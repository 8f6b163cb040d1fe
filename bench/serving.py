"""The cost of reading every request whole before a thread takes it (server/serving.py), side by side
with gunicorn's plain gthread worker, in the same run:

    .venv/bin/python bench/serving.py [--seconds 8] [--connections 16] [--rounds 2] [--store sqlite]

Each round starts the server once per worker (WEB_BUFFER_REQUESTS=1, then 0) on a fresh store and
drives it from two client processes with keep-alive connections on raw sockets (little client CPU
per request), for `--seconds` each: GET /_up, then POST /{db}/_bulk_docs of two small new docs as
admin. Prints requests/s, latency p50/p99 and the server's CPU (master and workers, from /proc) per
1000 requests. Only 127.0.0.1.
"""
from __future__ import annotations

import argparse
import base64
import json
import multiprocessing as mp
import os
import selectors
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support.server import ServerProcess  # noqa: E402
from support.stores import Stores  # noqa: E402

DB = "bench_serving"


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` and its children alive now (gunicorn's master and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                pids.append(int(entry))
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def request_for(kind: str, auth: str, n: int, tag: str) -> bytes:
    if kind == "up":
        return b"GET /_up HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    body = json.dumps({"docs": [{"_id": f"{tag}-{n}-a", "v": n, "text": "x" * 200},
                                {"_id": f"{tag}-{n}-b", "v": n, "text": "y" * 200}]}).encode()
    return (f"POST /{DB}/_bulk_docs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def client(port: int, kind: str, auth: str, connections: int, seconds: float, tag: str, out) -> None:
    """One process: `connections` keep-alive connections, each sending its next request as soon as
    the previous answer is complete. Puts (latencies, errors) on `out`."""
    sel = selectors.DefaultSelector()
    state = {}
    n = 0
    for i in range(connections):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        state[s] = {"buf": b"", "t": 0.0}
        sel.register(s, selectors.EVENT_READ)
    latencies, errors = [], 0
    end = time.monotonic() + seconds

    def send(s):
        nonlocal n
        n += 1
        state[s]["t"] = time.monotonic()
        s.sendall(request_for(kind, auth, n, f"{tag}-{id(s)}"))

    for s in state:
        send(s)
    while state and time.monotonic() < end + 5:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            st = state[s]
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            if not chunk:
                errors += 1
                sel.unregister(s)
                del state[s]
                continue
            st["buf"] += chunk
            buf = st["buf"]
            head_end = buf.find(b"\r\n\r\n")
            if head_end < 0:
                continue
            head = buf[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if len(buf) < head_end + 4 + length:
                continue
            st["buf"] = buf[head_end + 4 + length:]
            status = int(head.split(" ", 2)[1])
            if status >= 400:
                errors += 1
            latencies.append(time.monotonic() - st["t"])
            if time.monotonic() < end:
                send(s)
            else:
                sel.unregister(s)
                s.close()
                del state[s]
    out.put((latencies, errors))


def drive(srv, kind: str, connections: int, seconds: float) -> dict:
    auth = "Basic " + base64.b64encode(f"{srv.auth[0]}:{srv.auth[1]}".encode()).decode()
    out = mp.Queue()
    procs = [mp.Process(target=client, args=(srv.port, kind, auth, connections // 2, seconds,
                                              f"{kind}{i}-{time.time_ns()}", out)) for i in range(2)]
    cpu0, t0 = cpu_seconds(srv.proc.pid), time.monotonic()
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 60) for _ in procs]
    wall, cpu = time.monotonic() - t0, cpu_seconds(srv.proc.pid) - cpu0
    for p in procs:
        p.join(10)
    lat = sorted(x for r in results for x in r[0])
    return {"requests": len(lat), "errors": sum(r[1] for r in results), "wall_s": wall,
            "rps": len(lat) / wall, "p50_ms": statistics.median(lat) * 1000,
            "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000, "server_cpu_s": cpu,
            "cpu_ms_per_req": cpu / len(lat) * 1000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--store", default="sqlite", choices=["sqlite", "postgresql"])
    args = ap.parse_args()
    stores = Stores(Path(tempfile.mkdtemp(prefix="bench-serving-")))
    rows = []
    try:
        for rnd in range(args.rounds):
            for buffering in (("1", "0") if rnd % 2 == 0 else ("0", "1")):  # alternate who goes first
                srv = ServerProcess(stores.new(args.store), name=f"bench-serving-{buffering}",
                                    env={"WEB_BUFFER_REQUESTS": buffering})
                srv.start()
                try:
                    import requests

                    requests.put(f"{srv.url}/{DB}", auth=srv.auth, timeout=10).raise_for_status()
                    drive(srv, "up", 4, 1.0)  # warm-up (and the password check, once per worker)
                    drive(srv, "bulk", 4, 1.0)
                    for kind in ("up", "bulk"):
                        r = drive(srv, kind, args.connections, args.seconds)
                        r.update(round=rnd + 1, worker="buffering" if buffering == "1" else "gthread", kind=kind)
                        rows.append(r)
                        print(f"round {rnd + 1} {r['worker']:9} {kind:4}: {r['rps']:7.0f} req/s, p50 "
                              f"{r['p50_ms']:6.1f} ms, p99 {r['p99_ms']:6.1f} ms, server CPU {r['server_cpu_s']:5.1f} s "
                              f"in {r['wall_s']:4.1f} s ({r['cpu_ms_per_req']:.2f} ms/request), errors {r['errors']}",
                              flush=True)
                finally:
                    srv.close()
    finally:
        stores.close()
    print("\nbuffering / gthread (same run):")
    for kind in ("up", "bulk"):
        b = [r for r in rows if r["kind"] == kind and r["worker"] == "buffering"]
        g = [r for r in rows if r["kind"] == kind and r["worker"] == "gthread"]
        rps = sum(r["rps"] for r in b) / sum(r["rps"] for r in g)
        cpu = (sum(r["cpu_ms_per_req"] for r in b) / len(b)) / (sum(r["cpu_ms_per_req"] for r in g) / len(g))
        p50 = statistics.median(r["p50_ms"] for r in b) / statistics.median(r["p50_ms"] for r in g)
        print(f"  {kind:4}: throughput x{rps:.2f}, server CPU per request x{cpu:.2f}, p50 latency x{p50:.2f}")


if __name__ == "__main__":
    main()
