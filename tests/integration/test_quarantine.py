"""Refused documents are kept in the quarantine, all those of one write in one transaction."""
from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.demo  # the demo district's accounts and areas in `app`

VILLAGE, NEIGHBOUR = "990101001001", "990101001002"
PHONE = {"Authorization": "Basic " + base64.b64encode(b"demo-village:demo-password").decode(),
         "X-Paicha-Device": "old-app-phone"}


def _dispute(doc_id: str, area: str) -> dict:
    return {"_id": doc_id, "_rev": "1-" + "ab" * 16, "_revisions": {"start": 1, "ids": ["ab" * 16]},
            "type": "dispute", "area": area, "created_by": "demo-village", "created_at": "2026-11-20T09:00:00+08:00",
            "summary": "（测试）隔离", "parties": [{"name": "张三", "role": "applicant"}], "category": "neighbourhood",
            "risk_level": "low", "status": "registered"}


def test_a_replicated_batch_of_refused_documents_is_held_in_one_transaction(app):
    from server.core.db import db
    from server.core.models import QuarantinedDoc

    refused = [_dispute(f"quarantine-neighbour-{n:02d}", NEIGHBOUR) for n in range(40)]
    refused += [{**_dispute(f"quarantine-invalid-{n:02d}", VILLAGE), "risk_level": "apocalyptic"} for n in range(5)]
    accepted = [_dispute(f"quarantine-ok-{n:02d}", VILLAGE) for n in range(2)]
    with app.app_context():
        engine = db.engine
    commits = []

    def committed(conn):
        commits.append(conn)

    sa.event.listen(engine, "commit", committed)
    try:
        r = app.test_client().post("/paicha/_bulk_docs", json={"docs": refused + accepted, "new_edits": False},
                                   headers=PHONE)
    finally:
        sa.event.remove(engine, "commit", committed)
    assert r.status_code == 201
    errors = {e["id"]: e["error"] for e in r.json if "error" in e}
    assert set(errors) == {d["_id"] for d in refused} and set(errors.values()) == {"forbidden"}
    # The accepted documents' write, the quarantine's, and the 45 refusal notices (a few reads, one
    # write of them all, one of their state): never one per refused document.
    assert len(commits) <= 8
    table = QuarantinedDoc.__table__
    with engine.connect() as conn:
        held = {q.doc_id: q for q in conn.execute(sa.select(table).where(table.c.doc_id.like("quarantine-%")))}
    assert set(held) == {d["_id"] for d in refused}
    assert all(q.account == "demo-village" and q.device_id == "old-app-phone" and q.status == "held"
               and not q.new_edits for q in held.values())
    assert "[out_of_scope]" in held["quarantine-neighbour-00"].reason
    assert "[invalid_document]" in held["quarantine-invalid-00"].reason
    assert '"risk_level": "apocalyptic"' in held["quarantine-invalid-03"].body
