"""Several gunicorn workers: a write committed by one worker wakes the longpoll feeds of all of them.

The server runs with 3 workers and a feed safety re-check of 60 s (PAICHA_CHANGES_RECHECK_S), so a
feed that wakes within a few seconds was woken by the cross-process notification: PostgreSQL
LISTEN/NOTIFY, or on SQLite the per-process poller (PAICHA_CHANGES_POLL_S, set to 0.2 s here).
The feeds are open on separate connections; /proc shows which worker holds each, and the test
insists they are spread over at least two workers (so at least one feed is not on the writer's).
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

WORKERS = 3
FEEDS = 9
RECHECK_S = 60
WAKE_WITHIN_S = 3.0


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def _established_inodes(port: int) -> set[str]:
    """Socket inodes of established TCP connections whose local port is the server's."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[1].endswith(f":{port:04X}") and fields[3] == "01":
                inodes.add(fields[9])
    return inodes


def feeds_per_worker(server) -> dict[int, int]:
    inodes = _established_inodes(server.port)
    counts = {}
    for pid in _children(server.proc.pid):
        n = 0
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    n += 1
        except OSError:
            continue
        counts[pid] = n
    return counts


@pytest.fixture
def multi_server(server_factory, store_kind):
    return server_factory(env={"WEB_WORKERS": str(WORKERS), "WEB_THREADS": "8",
                               "PAICHA_CHANGES_RECHECK_S": str(RECHECK_S), "PAICHA_CHANGES_POLL_S": "0.2"})


def test_a_write_wakes_longpoll_feeds_in_every_worker(multi_server):
    srv = multi_server
    db = f"mw_{uuid.uuid4().hex[:8]}"
    r = requests.put(f"{srv.url}/{db}", auth=srv.auth, timeout=30)
    assert r.status_code in (201, 202), r.text
    # Every worker verifies the admin password once (argon2): warm them up so feeds start promptly.
    for _ in range(2 * WORKERS):
        requests.get(f"{srv.url}/{db}", auth=srv.auth, timeout=30).raise_for_status()

    since = requests.get(f"{srv.url}/{db}", auth=srv.auth, timeout=30).json()["update_seq"]
    woke: dict[int, tuple[float, dict]] = {}
    errors: list[str] = []

    def follow(i: int) -> None:
        try:
            with requests.Session() as s:  # one connection per feed
                r = s.get(f"{srv.url}/{db}/_changes", params={"feed": "longpoll", "since": since,
                                                             "timeout": 45_000},
                          auth=srv.auth, timeout=60)
            woke[i] = (time.monotonic(), r.json())
        except Exception as exc:  # noqa: BLE001
            errors.append(f"feed {i}: {exc!r}")

    threads = [threading.Thread(target=follow, args=(i,), daemon=True) for i in range(FEEDS)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    # Wait until every feed is open and waiting on the server.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(feeds_per_worker(srv).values()) < FEEDS:
        time.sleep(0.1)
    spread = feeds_per_worker(srv)
    assert sum(spread.values()) >= FEEDS, f"feeds not all open: {spread}"
    assert len([n for n in spread.values() if n]) >= 2, f"all feeds landed on one worker: {spread}"
    assert not woke, f"feeds returned before any write: {woke}"
    time.sleep(0.5)  # every worker's listener is up (a feed's first wait starts it)

    written_at = time.monotonic()
    with requests.Session() as s:
        r = s.put(f"{srv.url}/{db}/wake-me", json={"n": 1}, auth=srv.auth, timeout=30)
    assert r.status_code == 201, r.text
    for t in threads:
        t.join(timeout=WAKE_WITHIN_S + 5)
    assert not errors, errors
    assert len(woke) == FEEDS, f"only {len(woke)} of {FEEDS} feeds woke; spread {spread}"
    delays = sorted(at - written_at for at, _ in woke.values())
    assert delays[-1] < WAKE_WITHIN_S, f"slowest wake {delays[-1]:.2f}s (re-check is {RECHECK_S}s): {delays}"
    for _, body in woke.values():
        assert [c["id"] for c in body["results"]] == ["wake-me"], body
