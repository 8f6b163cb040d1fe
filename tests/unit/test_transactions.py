"""One way to open a transaction above the engine: `server.core.db.reading()` / `writing()`. The
request-scoped ORM session (`db.session`) is not used by product code, so nothing keeps a snapshot
open through a request and no code needs a hand-placed rollback (the engine keeps its own
`Store.reading/writing`)."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE_THE_ONE_API = ("db.session", ".rollback()", "write_session(")


def test_product_code_opens_transactions_only_through_core_db():
    found = []
    for package in ("server", "mobile_api"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.relative_to(ROOT).parts:
                continue  # Alembic's scripts run in their own transaction
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if any(use in line for use in OUTSIDE_THE_ONE_API):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == [], "\n".join(found)
