"""The audit trail: every accepted write to the domain database, with who, which device, when,
and the revision it replaced, so a dispute's whole history can be shown later (一案一档)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from sync.access import AcceptedWrite
from sync.precompiled import execute_many

from server.core.db import reading
from server.core.hooks import WriteContext, register_write_hook
from server.core import clock
from server.core.models import AuditEntry

_AUDIT_INSERT = sa.insert(AuditEntry.__table__)


def record_audit(conn: sa.Connection, context: WriteContext, writes: list[AcceptedWrite]) -> None:
    if not writes:
        return
    now = clock.now()
    execute_many(conn, _AUDIT_INSERT, [
        {"db_name": context.db_name, "doc_id": w.doc_id, "rev": w.rev, "previous_rev": w.previous_rev,
         "deleted": w.deleted, "seq": w.seq, "scope": w.scope, "account": context.account,
         "device_id": context.device_id, "at": now}
        for w in writes
    ])


def history(db_name: str, doc_id: str) -> list[AuditEntry]:
    with reading() as session:
        return list(session.execute(
            sa.select(AuditEntry).where(AuditEntry.db_name == db_name, AuditEntry.doc_id == doc_id)
            .order_by(AuditEntry.seq)
        ).scalars())


def init_app(app: Flask) -> None:
    register_write_hook(app, record_audit)
