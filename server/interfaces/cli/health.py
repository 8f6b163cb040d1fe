"""The container health checks (no curl in a slim image), run as `python -m server.ops probe|check-db`:

    probe [--url URL]   GET the readiness endpoint (default http://127.0.0.1:$PORT/_ready); exit 0 on 200
    check-db            the database (DATABASE_URL) answers and its schema is at the head; creates nothing
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request

import sqlalchemy as sa

from sync.store import configure_engine

from server.core.health import check_ready
from server.core.settings import Settings


def probe(url: str, timeout: float) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - a local URL
            print(answer.read(500).decode("utf-8", "replace"))
            return 0 if answer.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(f"{exc.code} {exc.read(500).decode('utf-8', 'replace')}", file=sys.stderr)
    except (OSError, ValueError) as exc:
        print(f"unreachable: {exc}", file=sys.stderr)
    return 1


def check_db(url: str) -> int:
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///"):]):
        print(json.dumps({"ready": False, "checks": {"database": "no SQLite file yet"}}))
        return 1
    engine = configure_engine(sa.create_engine(url, poolclass=sa.pool.NullPool))
    try:
        result = check_ready(engine)
    finally:
        engine.dispose()
    print(json.dumps(result))
    return 0 if result["ready"] else 1


def main(argv: list[str] | None = None, prog: str = "python -m server.ops") -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Container health checks.")
    sub = parser.add_subparsers(dest="command", required=True)
    probe_parser = sub.add_parser("probe", help="GET the readiness endpoint (exit 0 if it answers 200)")
    probe_parser.add_argument("--url", default=None, help="default http://127.0.0.1:$PORT/_ready")
    probe_parser.add_argument("--timeout", type=float, default=4.0)
    sub.add_parser("check-db", help="the database answers and its schema is at the head (DATABASE_URL)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "probe":
        return probe(args.url or f"http://127.0.0.1:{settings.port}/_ready", args.timeout)
    return check_db(settings.database_url)
