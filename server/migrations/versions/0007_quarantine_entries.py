"""quarantine entries: one row per refused revision (fingerprint, times_received, last_received_at),
reason code, document type and area, the writer's scope, the administrator's note, the resolving
revision, and the state of the refusal notice that tells the writer

Revision ID: 0007_quarantine_entries
Revises: 0006_sessions

Rows kept before this migration are brought into the new shape: each gets its fingerprint (the same
function as server/quarantine/entries.py, written out here so that this migration never changes);
rows of the same refused revision (a phone re-sent it, and each time made a new row) become one, with
their count; held rows whose document has had an accepted write since are closed as superseded; the
held rows of field accounts owe their writer a notice, written by the next `settle` (any refusal,
decision, or `flask quarantine notify`).
"""
from __future__ import annotations

import hashlib
import json
import re

from alembic import op
import sqlalchemy as sa


revision = "0007_quarantine_entries"
down_revision = "0006_sessions"
branch_labels = None
depends_on = None

FIELD_ROLES = ("village_cadre", "township_staff")
CHUNK = 500
_CODE = re.compile(r"^\[([a-z][a-z_]{0,39})\]")


def _body_hash(body_text: str) -> tuple[str, dict | None]:
    try:
        body = json.loads(body_text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return hashlib.sha256(body_text.encode("utf-8", "surrogatepass")).hexdigest(), None
    own = {k: v for k, v in body.items() if k not in ("_id", "_rev", "_revisions")}
    text = json.dumps(own, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest(), body


def _fingerprint(doc_id: str, new_edits: bool, rev: str | None, body_hash: str) -> str:
    parts = [doc_id, "edit", rev or "", body_hash] if new_edits else [doc_id, "replicated", rev or ""]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def upgrade():
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("body_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("doc_type", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("area", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("writer_scope", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("reason_code", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("last_received_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("times_received", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resolved_rev", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("notice_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("notice_area", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("notice_state", sa.String(length=10), nullable=True))

    _backfill(op.get_bind())

    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        for name, type_ in (("fingerprint", sa.String(length=64)), ("body_hash", sa.String(length=64)),
                            ("reason_code", sa.String(length=40)),
                            ("last_received_at", sa.DateTime(timezone=True)), ("times_received", sa.Integer()),
                            ("notice_state", sa.String(length=10))):
            batch_op.alter_column(name, existing_type=type_, nullable=False)
        batch_op.create_index("ux_quarantine_fingerprint", ["db_name", "fingerprint"], unique=True)
        batch_op.create_index("ix_quarantine_held", ["db_name", "doc_id"], unique=False,
                              sqlite_where=sa.text("status = 'held'"), postgresql_where=sa.text("status = 'held'"))
        batch_op.create_index("ix_quarantine_status_received", ["status", "received_at"], unique=False)
        batch_op.create_index("ix_quarantine_notice_state", ["notice_state", "status"], unique=False)


def _backfill(conn: sa.Connection) -> None:
    q = sa.table("quarantine", sa.column("id"), sa.column("db_name"), sa.column("doc_id"), sa.column("rev"),
                 sa.column("account"), sa.column("reason"), sa.column("body"), sa.column("new_edits"),
                 sa.column("received_at"), sa.column("status"), sa.column("fingerprint"), sa.column("body_hash"),
                 sa.column("doc_type"), sa.column("area"), sa.column("writer_scope"), sa.column("reason_code"),
                 sa.column("last_received_at"), sa.column("times_received"), sa.column("notice_id"),
                 sa.column("notice_state"))
    accounts = {name: (role, scope) for name, role, scope in conn.execute(sa.text(
        "SELECT name, role, scope FROM accounts"))}
    rows = []
    for row in conn.execute(sa.select(q.c.id, q.c.db_name, q.c.doc_id, q.c.rev, q.c.account, q.c.reason, q.c.body,
                                      q.c.new_edits, q.c.received_at, q.c.status).order_by(q.c.id)):
        body_hash, body = _body_hash(row.body)
        doc_type = body.get("type") if body else None
        area = body.get("area") if body else None
        code = _CODE.match(row.reason or "")
        rows.append({
            "id": row.id, "db_name": row.db_name, "account": row.account, "status": row.status,
            "received_at": row.received_at, "body_hash": body_hash,
            "fingerprint": _fingerprint(row.doc_id, bool(row.new_edits), row.rev, body_hash),
            "doc_type": doc_type[:40] if isinstance(doc_type, str) else None,
            "area": area[:64] if isinstance(area, str) else None,
            "reason_code": code.group(1) if code else "refused",
        })
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["db_name"], row["fingerprint"]), []).append(row)
    keep, drop = [], []
    for members in groups.values():
        decided = [m for m in members if m["status"] != "held"]
        keeper = (decided or members)[0]
        keeper["times_received"] = len(members)
        keeper["first"] = min(m["received_at"] for m in members)
        keeper["last"] = max(m["received_at"] for m in members)
        keep.append(keeper)
        drop.extend(m["id"] for m in members if m is not keeper)
    for start in range(0, len(drop), CHUNK):
        conn.execute(sa.delete(q).where(q.c.id.in_(drop[start:start + CHUNK])))
    update = sa.update(q).where(q.c.id == sa.bindparam("k_id")).values(
        fingerprint=sa.bindparam("k_fingerprint"), body_hash=sa.bindparam("k_body_hash"),
        doc_type=sa.bindparam("k_doc_type"), area=sa.bindparam("k_area"), writer_scope=sa.bindparam("k_scope"),
        reason_code=sa.bindparam("k_code"), received_at=sa.bindparam("k_first"),
        last_received_at=sa.bindparam("k_last"), times_received=sa.bindparam("k_times"),
        notice_id=sa.bindparam("k_notice_id"), notice_state=sa.bindparam("k_state"))
    params = []
    for row in keep:
        role, scope = accounts.get(row["account"], (None, None))
        params.append({
            "k_id": row["id"], "k_fingerprint": row["fingerprint"], "k_body_hash": row["body_hash"],
            "k_doc_type": row["doc_type"], "k_area": row["area"], "k_scope": scope, "k_code": row["reason_code"],
            "k_first": row["first"], "k_last": row["last"], "k_times": row["times_received"],
            "k_notice_id": "refusal-" + row["fingerprint"][:32],
            # held rows of field accounts owe a notice (unless superseded just below)
            "k_state": "owed" if row["status"] == "held" and role in FIELD_ROLES else "none",
        })
    for start in range(0, len(params), CHUNK):
        conn.execute(update, params[start:start + CHUNK])
    # A held row whose document had an accepted write after it was refused: the document moved on.
    conn.execute(sa.text(
        "UPDATE quarantine SET status = 'superseded', notice_state = 'none', "
        "resolved_at = (SELECT MAX(a.at) FROM audit_trail a WHERE a.db_name = quarantine.db_name "
        "AND a.doc_id = quarantine.doc_id AND a.at > quarantine.received_at) "
        "WHERE status = 'held' AND EXISTS (SELECT 1 FROM audit_trail a WHERE a.db_name = quarantine.db_name "
        "AND a.doc_id = quarantine.doc_id AND a.at > quarantine.received_at)"))


def downgrade():
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantine_notice_state")
        batch_op.drop_index("ix_quarantine_status_received")
        batch_op.drop_index("ix_quarantine_held")
        batch_op.drop_index("ux_quarantine_fingerprint")
        for name in ("notice_state", "notice_area", "notice_id", "note", "resolved_rev", "times_received",
                     "last_received_at", "reason_code", "writer_scope", "area", "doc_type", "body_hash",
                     "fingerprint"):
            batch_op.drop_column(name)
