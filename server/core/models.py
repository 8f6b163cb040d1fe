"""The domain's own tables: areas, accounts, devices, the audit trail and the quarantine."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from schemas.rules import ACCOUNT_ROLES

from server.core import clock
from server.core.db import db


def _now() -> dt.datetime:
    return clock.now()  # looked up at each insert: a test may set the clock


def as_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored time as an aware UTC datetime: SQLite hands back naive datetimes, and everything
    stored is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment.astimezone(dt.timezone.utc)


ROLES = ACCOUNT_ROLES


class Area(db.Model):
    __tablename__ = "areas"
    code = sa.Column(sa.String(12), primary_key=True)
    name = sa.Column(sa.String(200), nullable=False)
    level = sa.Column(sa.String(20), nullable=False)
    parent_code = sa.Column(sa.String(12), sa.ForeignKey("areas.code"), nullable=True, index=True)
    # 包案领导: the leader answerable for the area's matters, as written (name and post); a matter
    # without its own leader falls to its area's, else the nearest enclosing area's (migration 0014)
    leader = sa.Column(sa.String(100), nullable=True)


class Account(db.Model):
    __tablename__ = "accounts"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(100), nullable=False, unique=True)
    display_name = sa.Column(sa.String(200), nullable=True)
    password_hash = sa.Column(sa.String(255), nullable=False)
    role = sa.Column(sa.String(30), nullable=False)
    # An area code prefix; "" (admins) is the whole store.
    scope = sa.Column(sa.String(12), nullable=False, default="")
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    failed_logins = sa.Column(sa.Integer, nullable=False, default=0)
    locked_until = sa.Column(sa.DateTime(timezone=True), nullable=True)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=_now)


class Device(db.Model):
    """Each device's last successful sync, per account ("who has not synced for a week?")."""
    __tablename__ = "devices"
    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    device_id = sa.Column(sa.String(100), nullable=False)
    user_agent = sa.Column(sa.String(300), nullable=True)
    first_seen_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=_now)
    last_sync_at = sa.Column(sa.DateTime(timezone=True), nullable=True)
    __table_args__ = (sa.UniqueConstraint("account_id", "device_id"),)


class AuditEntry(db.Model):
    """Every accepted write: who, from which device, when, which doc and rev, from which rev."""
    __tablename__ = "audit_trail"
    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True)
    db_name = sa.Column(sa.String(255), nullable=False)
    doc_id = sa.Column(sa.String(255), nullable=False)
    rev = sa.Column(sa.String(80), nullable=False)
    previous_rev = sa.Column(sa.String(80), nullable=True)
    deleted = sa.Column(sa.Boolean, nullable=False, default=False)
    seq = sa.Column(sa.BigInteger, nullable=False)
    scope = sa.Column(sa.String(64), nullable=False)
    account = sa.Column(sa.String(100), nullable=False)
    device_id = sa.Column(sa.String(100), nullable=True)
    at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=_now)
    __table_args__ = (sa.Index("ix_audit_doc", "db_name", "doc_id", "seq"),)


class QuarantinedDoc(db.Model):
    """A refused revision, kept so a cadre's work is never silently lost (server/quarantine/).

    One row per refused revision however often it is sent again: `fingerprint` names the document
    and the revision (a replicated revision by its rev, a direct edit by its parent rev and a hash
    of its fields); a re-send counts in `times_received`. `status`: held (waiting for a decision),
    readmitted, discarded (with the administrator's `note`), or superseded (a valid revision of the
    document was accepted since). `notice_state` follows the `refusal_notice` document that tells
    the writer: owed (to be written), open, resolved, none (no one to tell), failed."""
    __tablename__ = "quarantine"
    id = sa.Column(sa.Integer, primary_key=True)
    db_name = sa.Column(sa.String(255), nullable=False)
    doc_id = sa.Column(sa.String(255), nullable=False, index=True)
    # The rev sent: the refused revision itself (new_edits=false), or the one it edits (true).
    rev = sa.Column(sa.String(80), nullable=True)
    fingerprint = sa.Column(sa.String(64), nullable=False)
    body_hash = sa.Column(sa.String(64), nullable=False)
    doc_type = sa.Column(sa.String(40), nullable=True)
    area = sa.Column(sa.String(64), nullable=True)  # the document's area, as sent
    account = sa.Column(sa.String(100), nullable=False)
    writer_scope = sa.Column(sa.String(12), nullable=True)  # the account's scope when it was refused
    device_id = sa.Column(sa.String(100), nullable=True)
    reason_code = sa.Column(sa.String(40), nullable=False, default="refused")
    reason = sa.Column(sa.Text, nullable=False)
    body = sa.Column(sa.Text, nullable=False)
    new_edits = sa.Column(sa.Boolean, nullable=False)
    received_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=_now)  # first time
    last_received_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=_now)
    times_received = sa.Column(sa.Integer, nullable=False, default=1)
    status = sa.Column(sa.String(20), nullable=False, default="held")  # held | readmitted | discarded | superseded
    resolved_at = sa.Column(sa.DateTime(timezone=True), nullable=True)
    resolved_by = sa.Column(sa.String(100), nullable=True)
    resolved_rev = sa.Column(sa.String(80), nullable=True)  # the revision written at re-admission
    note = sa.Column(sa.Text, nullable=True)  # why it was discarded
    notice_id = sa.Column(sa.String(255), nullable=True)
    notice_area = sa.Column(sa.String(12), nullable=True)
    notice_state = sa.Column(sa.String(10), nullable=False, default="none")
    __table_args__ = (
        sa.Index("ux_quarantine_fingerprint", "db_name", "fingerprint", unique=True),
        # Only the held entries: what an accepted write looks up, in its own transaction.
        sa.Index("ix_quarantine_held", "db_name", "doc_id", sqlite_where=sa.text("status = 'held'"),
                 postgresql_where=sa.text("status = 'held'")),
        sa.Index("ix_quarantine_status_received", "status", "received_at"),
        sa.Index("ix_quarantine_notice_state", "notice_state", "status"),
    )


class ApiToken(db.Model):
    """Bearer tokens for the field app and sync (issued by mobile_api). Only a hash is stored."""
    __tablename__ = "api_tokens"
    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    token_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    device_id = sa.Column(sa.String(100), nullable=True)
    kind = sa.Column(sa.String(10), nullable=False, default="access")  # access | refresh
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=_now)
    expires_at = sa.Column(sa.DateTime(timezone=True), nullable=False)
    revoked_at = sa.Column(sa.DateTime(timezone=True), nullable=True)
    # Every token descended from one login shares its family: a refresh token used a second time
    # revokes the whole family (server/tokens.py, `rotate`).
    family = sa.Column(sa.String(32), nullable=True, index=True)
    # When this refresh token was exchanged for its successors (it is revoked at the same moment).
    used_at = sa.Column(sa.DateTime(timezone=True), nullable=True)


class AuthSession(db.Model):
    """A login behind an `AuthSession` cookie (browsers, CouchDB clients). The cookie carries a
    random session id, signed; only its hash is stored. Logging out or a new password ends the
    session here, so a copied cookie stops working at once, not when it expires."""
    __tablename__ = "auth_sessions"
    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    session_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=_now)
    expires_at = sa.Column(sa.DateTime(timezone=True), nullable=False)
    revoked_at = sa.Column(sa.DateTime(timezone=True), nullable=True)


class FileOpening(db.Model):
    """Every opening of a matter's file (一案一档) by a person: who (account and role), when, which
    matter (and its area, so the district's log page is limited to its scope), from which interface
    (`ledger_page`, `api`, `export`) and whether its personal data was shown whole (`unmasked`).
    Append-only: written by `server.services.file_access.record_openings`, never updated or deleted
    by the code ("no clue lost, none leaked")."""
    __tablename__ = "file_openings"
    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True)
    db_name = sa.Column(sa.String(255), nullable=False)
    matter_id = sa.Column(sa.String(255), nullable=False)
    area = sa.Column(sa.String(64), nullable=False)
    account = sa.Column(sa.String(100), nullable=False)
    role = sa.Column(sa.String(30), nullable=False)
    interface = sa.Column(sa.String(20), nullable=False)  # ledger_page | api | export
    unmasked = sa.Column(sa.Boolean, nullable=False)
    at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=_now)
    __table_args__ = (
        sa.Index("ix_file_openings_matter", "db_name", "matter_id", "at"),
        sa.Index("ix_file_openings_account", "account", "at"),
        sa.Index("ix_file_openings_at", "at"),
    )
