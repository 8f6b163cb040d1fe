"""Migration 0007 brings the rows kept before it into one entry per refused revision: re-sends merged
with their count, stale held rows superseded, field accounts' held rows owing a notice. SQLite and
PostgreSQL."""
from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from alembic import command

from server.core.migrate import alembic_config, upgrade_to_head
from server.services.quarantine.entries import body_hash, fingerprint

VILLAGE = "990101001001"
T0 = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.timezone.utc)


def _row(doc_id: str, rev: str, minutes: int, account: str = "cadre", status: str = "held", **body) -> dict:
    doc = {"_id": doc_id, "_rev": rev, "type": "dispute", "area": VILLAGE, **body}
    return {"db_name": "paicha", "doc_id": doc_id, "rev": rev, "account": account, "device_id": "p1",
            "reason": "[invalid_document] Invalid document: risk_level", "body": json.dumps(doc, ensure_ascii=False),
            "new_edits": False, "received_at": T0 + dt.timedelta(minutes=minutes), "status": status}


def test_rows_kept_before_are_merged_per_refused_revision(engine):
    with engine.connect() as conn:
        command.upgrade(alembic_config(conn), "0006_sessions")
        conn.commit()
    meta = sa.MetaData()
    quarantine = sa.Table("quarantine", meta, autoload_with=engine)
    accounts = sa.Table("accounts", meta, autoload_with=engine)
    audit = sa.Table("audit_trail", meta, autoload_with=engine)
    with engine.begin() as conn:
        conn.execute(accounts.insert(), [
            {"name": "cadre", "password_hash": "x", "role": "village_cadre", "scope": VILLAGE, "active": True,
             "failed_logins": 0, "created_at": T0},
            {"name": "sup", "password_hash": "x", "role": "district_supervisor", "scope": "990101", "active": True,
             "failed_logins": 0, "created_at": T0}])
        conn.execute(quarantine.insert(), [
            _row("resent", "2-aa", 0), _row("resent", "2-aa", 5), _row("resent", "2-aa", 9),
            _row("decided", "2-bb", 0), _row("decided", "2-bb", 3, status="readmitted"),
            _row("moved", "2-cc", 0), _row("by-supervisor", "1-dd", 0, account="sup"),
        ])
        conn.execute(audit.insert(), [{"db_name": "paicha", "doc_id": "moved", "rev": "3-ee", "previous_rev": "1-x",
                                       "deleted": False, "seq": 7, "scope": VILLAGE, "account": "cadre",
                                       "at": T0 + dt.timedelta(minutes=30)}])
    upgrade_to_head(engine)
    meta = sa.MetaData()
    quarantine = sa.Table("quarantine", meta, autoload_with=engine)
    with engine.connect() as conn:
        rows = {r.doc_id: r for r in conn.execute(sa.select(quarantine))}
        count = conn.execute(sa.select(sa.func.count()).select_from(quarantine)).scalar_one()
    assert count == 4
    resent = rows["resent"]
    assert resent.times_received == 3 and resent.status == "held" and resent.notice_state == "owed"
    assert resent.received_at.replace(tzinfo=None) == T0.replace(tzinfo=None)
    assert resent.last_received_at.replace(tzinfo=None) == (T0 + dt.timedelta(minutes=9)).replace(tzinfo=None)
    doc = json.loads(resent.body)
    assert resent.fingerprint == fingerprint("resent", False, "2-aa", body_hash(doc))  # the running code's
    assert resent.notice_id == "refusal-" + resent.fingerprint[:32] and resent.writer_scope == VILLAGE
    assert (resent.reason_code, resent.doc_type, resent.area) == ("invalid_document", "dispute", VILLAGE)
    assert rows["decided"].status == "readmitted" and rows["decided"].times_received == 2
    assert rows["decided"].notice_state == "none"
    assert rows["moved"].status == "superseded" and rows["moved"].notice_state == "none"
    assert rows["moved"].resolved_at is not None
    assert rows["by-supervisor"].status == "held" and rows["by-supervisor"].notice_state == "none"
