"""Seed a Paicha store fast, straight into SQL (no HTTP, no per-document engine work).

    .venv/bin/python bench/seed.py DATABASE_URL --docs N [--own-docs 200] [--accounts 200]

Creates the schema (the app's migrations) and the domain database, 1 000 villages of district 990201,
the accounts the benchmark uses (all with PASSWORD), and N `dispute` documents: `--own-docs` of them in
the benchmark cadre's village (village 0), the rest spread round-robin over villages 1..1000. Each
document has one revision `1-md5(id)`; the same documents (ids, revs, bodies) are what
`bench/node/bench.js seed` writes into pouchdb-server, so both servers hold identical data.

Rows go in with executemany (SQLite) or COPY (PostgreSQL); the database's counters are then set as
the engine would have left them. Prints one JSON line {"seconds", "docs"}.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DISTRICT = "990201"
PASSWORD = "bench-password"
VILLAGES = 1000


def village_code(n: int) -> str:
    return f"{DISTRICT}{n // 100 + 1:03d}{n % 100 + 1:03d}"


OWN_VILLAGE = village_code(0)
FILLER_VILLAGES = [village_code(n) for n in range(1, VILLAGES + 1)]


def body(doc_id: str, area: str, created_by: str = "bench") -> dict:
    """A ~1 KB dispute document (the same bytes in bench.js)."""
    return {"type": "dispute", "area": area, "created_by": created_by, "created_at": "2026-11-01T09:00:00+08:00",
            "summary": "基准测试纠纷 " + doc_id + " " + "x" * 600, "parties": [{"name": "甲", "role": "applicant"}],
            "category": "debt", "risk_level": "low", "status": "registered"}


def docs(total: int, own: int):
    """(doc_id, area) for the seeded store, in seq order."""
    for n in range(own):
        yield f"d-{OWN_VILLAGE}-{n:06d}", OWN_VILLAGE
    for n in range(total - own):
        yield f"f-{n:08d}", FILLER_VILLAGES[n % VILLAGES]


def rev_hash(doc_id: str) -> str:
    return hashlib.md5(doc_id.encode()).hexdigest()


def accounts(devices: int) -> list[tuple[str, str, str]]:
    """(name, role, scope): two cadres of village 0, one per device village, and an admin."""
    out = [("bench-cadre", "village_cadre", OWN_VILLAGE), ("bench-cadre2", "village_cadre", OWN_VILLAGE),
           ("bench-admin", "admin", "")]
    out += [(f"dev-{i:03d}", "village_cadre", FILLER_VILLAGES[i]) for i in range(devices)]
    return out


def prepare(url: str, devices: int) -> int:
    """Schema, areas, accounts; returns the domain database's id."""
    os.environ["DATABASE_URL"] = url
    os.environ["PAICHA_DEMO"] = "0"
    os.environ.setdefault("PAICHA_LOG_LEVEL", "WARNING")
    from server import create_app
    from server.setup import prepare as start_up
    from server.core import passwords
    from server.core import accounts as accounts_mod
    from server.core.areas import check_area, import_areas
    from server.core.db import db
    from sync.tables import databases
    import sqlalchemy as sa

    app = start_up(create_app())
    one_hash = passwords.hash_password(PASSWORD)  # argon2 once: every account gets the same password
    accounts_mod.hash_password = lambda _pw: one_hash
    with app.app_context():
        villages = [OWN_VILLAGE] + FILLER_VILLAGES
        townships = sorted({v[:9] for v in villages})
        import_areas([check_area(DISTRICT, "基准区")] + [check_area(t, f"镇{t}") for t in townships] +
                     [check_area(v, f"村{v}") for v in villages])
        db.session.commit()
        for name, role, scope in accounts(devices):
            accounts_mod.add_account(name, PASSWORD, role, scope)
        with db.engine.connect() as conn:
            return conn.execute(sa.select(databases.c.id).where(
                databases.c.name == app.config["PAICHA_DOMAIN_DB"])).scalar_one()


def rows(db_id: int, total: int, own: int):
    from sync.jsonio import dumps_stored as dumps

    for seq, (doc_id, area) in enumerate(docs(total, own), start=1):
        h = rev_hash(doc_id)
        tree = json.dumps([{"pos": 1, "nodes": [[h, {"status": "available"}, -1]]}], separators=(",", ":"))
        yield (db_id, doc_id, area, seq, f"1-{h}", False, tree), (db_id, doc_id, f"1-{h}", False,
                                                                   dumps(body(doc_id, area)))


def seed_sqlite(path: str, db_id: int, total: int, own: int) -> None:
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    batch_d, batch_r = [], []
    for d, r in rows(db_id, total, own):
        batch_d.append(d)
        batch_r.append(r)
        if len(batch_d) >= 20000:
            _flush_sqlite(conn, batch_d, batch_r)
    _flush_sqlite(conn, batch_d, batch_r)
    conn.execute("UPDATE sync_databases SET update_seq = ?, doc_count = ?, doc_del_count = 0 WHERE id = ?",
                 (total, total, db_id))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _flush_sqlite(conn, batch_d, batch_r) -> None:
    conn.executemany("INSERT INTO sync_documents (db_id, doc_id, scope, seq, winning_rev, deleted, rev_tree) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", batch_d)
    conn.executemany("INSERT INTO sync_revisions (db_id, doc_id, rev, deleted, body) VALUES (?, ?, ?, ?, ?)",
                     batch_r)
    batch_d.clear()
    batch_r.clear()


def seed_postgresql(url: str, db_id: int, total: int, own: int) -> None:
    import psycopg

    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq) as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY sync_documents (db_id, doc_id, scope, seq, winning_rev, deleted, rev_tree) "
                          "FROM STDIN") as docs_copy:
                revs = []
                for d, r in rows(db_id, total, own):
                    docs_copy.write_row(d)
                    revs.append(r)
            with cur.copy("COPY sync_revisions (db_id, doc_id, rev, deleted, body) FROM STDIN") as rev_copy:
                for r in revs:
                    rev_copy.write_row(r)
            cur.execute("UPDATE sync_databases SET update_seq = %s, doc_count = %s, doc_del_count = 0 "
                        "WHERE id = %s", (total, total, db_id))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE sync_documents")
        conn.execute("VACUUM ANALYZE sync_revisions")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--docs", type=int, default=0)
    parser.add_argument("--own-docs", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=200, help="device accounts dev-000...")
    args = parser.parse_args()
    start = time.perf_counter()
    db_id = prepare(args.url, args.accounts)
    if args.docs:
        if args.url.startswith("sqlite"):
            seed_sqlite(args.url[len("sqlite:///"):], db_id, args.docs, min(args.own_docs, args.docs))
        else:
            seed_postgresql(args.url, db_id, args.docs, min(args.own_docs, args.docs))
    print(json.dumps({"seconds": round(time.perf_counter() - start, 1), "docs": args.docs}))


if __name__ == "__main__":
    main()
