"""Shared pieces of the benchmarks: stores, a seeded domain database, the server, PouchDB phones."""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from support.device import Device  # noqa: E402
from support.server import ServerProcess  # noqa: E402
from support.stores import Stores  # noqa: E402

RESULTS = REPO / "bench" / "results"
PASSWORD = "bench-password"
DISTRICT = "990201"


def village_code(n: int) -> str:
    return f"{DISTRICT}{n // 100 + 1:03d}{n % 100 + 1:03d}"


def machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine()}


def seed_domain(database_url: str, docs_per_village: dict[str, int], filler_villages: int, filler_docs: int,
                batch: int = 2000) -> float:
    """Create areas and `dispute` documents through the engine; returns seconds spent."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["PAICHA_DEMO"] = "0"
    from server import create_app
    from server.setup import prepare
    from server.core.areas import check_area, import_areas
    from server.core.store import get_store
    from sync.access import ADMIN

    app = prepare(create_app())
    start = time.perf_counter()
    with app.app_context():
        villages = [v for v in (village_code(n) for n in range(1, filler_villages + 1)) if v not in docs_per_village]
        townships = sorted({v[:9] for v in villages} | {v[:9] for v in docs_per_village})
        import_areas([check_area(DISTRICT, "基准区")] + [check_area(t, f"镇{t}") for t in townships] +
                     [check_area(v, f"村{v}") for v in sorted(set(villages) | set(docs_per_village))])
        db = get_store().open(app.config["PAICHA_DOMAIN_DB"], ADMIN)

        def doc(doc_id: str, area: str) -> dict:
            return {"_id": doc_id, "type": "dispute", "area": area, "created_by": "bench",
                    "created_at": "2026-11-01T09:00:00+08:00", "summary": "基准测试纠纷 " + "x" * 600,
                    "parties": [{"name": "甲", "role": "applicant"}], "category": "debt",
                    "risk_level": "low", "status": "registered"}

        pending: list[dict] = []

        def flush(force: bool = False) -> None:
            if pending and (force or len(pending) >= batch):
                results = db.bulk_docs(pending)
                assert all(r.ok for r in results), results[:3]
                pending.clear()

        for area, count in docs_per_village.items():
            for n in range(count):
                pending.append(doc(f"d-{area}-{n:06d}", area))
                flush()
        for n in range(filler_docs):
            pending.append(doc(f"f-{n:08d}", villages[n % len(villages)]))
            flush()
        flush(force=True)
    return time.perf_counter() - start


def add_account(database_url: str, name: str, role: str, scope: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "PAICHA_DEMO": "0", "FLASK_APP": "server"}
    subprocess.run([str(REPO / ".venv/bin/flask"), "users", "add", name, "--role", role, "--scope", scope,
                    "--password", PASSWORD], cwd=REPO, env=env, check=True, capture_output=True)


def timed_pulls(server_url: str, user: str, runs: int = 3) -> tuple[list[float], int]:
    times, count = [], 0
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            phone = Device(Path(tmp) / "phone", auth={"username": user, "password": PASSWORD})
            start = time.perf_counter()
            result = phone.pull(f"{server_url}/paicha", batch_size=100)
            times.append(time.perf_counter() - start)
            count = result["pull"]["docs_written"]
    return times, count


def median(values: list[float]) -> float:
    return statistics.median(values)


def save(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2, ensure_ascii=False))
    return path


__all__ = ["Device", "ServerProcess", "Stores", "seed_domain", "add_account", "timed_pulls", "median", "save",
           "village_code", "PASSWORD"]
