"""The quarantine: every refused document is kept, so a cadre's work is never silently lost.

Admins list and inspect held documents and re-admit one once the rule or the document is fixed;
re-admission writes it through the normal store path (so it is checked again and audited).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging

import sqlalchemy as sa
from flask import Flask

from sync.access import WriteAttempt

from .extensions import db, write_session
from .hooks import WriteContext
from .models import QuarantinedDoc, utcnow

log = logging.getLogger(__name__)


def hold(app: Flask, context: WriteContext, refused: list[tuple[WriteAttempt, str]]) -> None:
    """Keep the refused documents of one write, all in one transaction (a phone on an old app
    version may send a thousand the schema now refuses), queued with the store's other writers."""
    from . import ops

    now = utcnow()
    coded = [(attempt, getattr(reason, "code", "refused"), reason) for attempt, reason in refused]
    rows = [dict(db_name=context.db_name, doc_id=attempt.doc_id, rev=attempt.new.get("_rev"),
                 account=context.account, device_id=context.device_id, reason=f"[{code}] {reason}",
                 body=json.dumps(attempt.new, ensure_ascii=False), new_edits=attempt.new_edits,
                 received_at=now, status="held") for attempt, code, reason in coded]
    with app.extensions["paicha_store"].writing() as conn:
        conn.execute(sa.insert(QuarantinedDoc.__table__), rows)
    via = ops.via_for_account(context.account)
    for attempt, code, _ in coded:
        ops.count_rejection(code, via)
        log.info("quarantined %s from %s: %s", attempt.doc_id, context.account, code)


def list_held(status: str = "held", limit: int = 100) -> list[QuarantinedDoc]:
    return list(db.session.execute(
        sa.select(QuarantinedDoc).where(QuarantinedDoc.status == status)
        .order_by(QuarantinedDoc.received_at.desc()).limit(limit)
    ).scalars())


def readmit(entry_id: int, admin_name: str) -> dict:
    """Write a held document again, as the administrator, through the normal rules."""
    from .access import access_for
    from .auth import Principal
    from .couch import get_store
    from .models import Account

    entry = db.session.get(QuarantinedDoc, entry_id)
    if entry is None or entry.status != "held":
        raise LookupError(f"no held document #{entry_id}")
    admin = db.session.execute(sa.select(Account).where(Account.name == admin_name)).scalar_one()
    principal = Principal(admin.name, admin.role, admin.scope, admin.id)
    db_name, new_edits, doc = entry.db_name, entry.new_edits, json.loads(entry.body)
    db.session.rollback()  # no read transaction held while the store writes
    # A refused re-admission stays this one entry; it is not held a second time.
    access = dataclasses.replace(access_for(principal, db_name), record_refusals=None)
    database = get_store().open(db_name, access)
    result = database.bulk_docs([doc], new_edits=new_edits)
    result = result[0] if result else {"ok": True, "id": doc.get("_id"), "rev": doc.get("_rev")}
    if "error" not in result:
        with write_session() as session, session.begin():
            held = session.get(QuarantinedDoc, entry_id)
            held.status = "readmitted"
            held.resolved_at = dt.datetime.now(dt.timezone.utc)
            held.resolved_by = admin_name
    return result
