"""Creating and changing accounts (used by the CLI, the demo data and the admin bootstrap)."""
from __future__ import annotations

import re

import sqlalchemy as sa

from schemas.areas import is_area_code, is_area_prefix
from schemas.rules import SCOPE_LENGTH, SCOPE_LEVEL

from server.core.auth import end_all_sessions
from server.core.db import reading, writing
from server.core import clock
from server.core.models import ROLES, Account, ApiToken
from server.core.passwords import forget, hash_password, verify_password

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")
MIN_PASSWORD = 8


class AccountError(ValueError):
    pass


def validate_scope(role: str, scope: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    level = SCOPE_LEVEL.get(role)
    if level is None:  # an admin
        if not is_area_prefix(scope):
            raise AccountError("an admin's scope is empty (everything) or an area code")
        return scope
    if not is_area_code(scope, level):
        raise AccountError(f"a {role} needs a {SCOPE_LENGTH[role]}-digit area code as scope, got {scope!r}")
    return scope


def add_account(name: str, password: str, role: str, scope: str = "", display_name: str | None = None) -> Account:
    if not NAME.match(name):
        raise AccountError("account names are 2-100 characters: lowercase letters, digits, . _ -")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"passwords need at least {MIN_PASSWORD} characters")
    scope = validate_scope(role, scope)
    password_hash = hash_password(password)  # the slow hash before the write transaction, not inside it
    with writing() as session:
        if session.execute(sa.select(Account.id).where(Account.name == name)).first():
            raise AccountError(f"account {name!r} already exists")
        account = Account(name=name, password_hash=password_hash, role=role, scope=scope,
                          display_name=display_name, active=True, failed_logins=0)
        session.add(account)
    return account


def set_password(name: str, password: str) -> None:
    with reading() as session:
        exists = session.execute(sa.select(Account.id).where(Account.name == name)).first() is not None
    if not exists:
        raise AccountError(f"no account {name!r}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"passwords need at least {MIN_PASSWORD} characters")
    password_hash = hash_password(password)
    with writing() as session:
        account_id = session.execute(sa.select(Account.id).where(Account.name == name)).scalar_one_or_none()
        if account_id is None:
            raise AccountError(f"no account {name!r}")
        session.execute(sa.update(Account.__table__).where(Account.__table__.c.id == account_id)
                        .values(password_hash=password_hash, failed_logins=0, locked_until=None))
        # A new password logs the account out everywhere (cookies and the app's tokens), in the same
        # transaction: whoever knew the old one keeps no session.
        end_all_sessions(session, account_id)
        _revoke_tokens(session, account_id)
    forget(name)


def _revoke_tokens(conn, account_id: int) -> int:
    """Revoke every live bearer token of the account, inside the caller's transaction."""
    tokens = ApiToken.__table__
    return conn.execute(sa.update(tokens).where(tokens.c.account_id == account_id, tokens.c.revoked_at.is_(None))
                        .values(revoked_at=clock.now())).rowcount


def ensure_admin(password: str, name: str = "admin") -> None:
    """Bootstrap (PAICHA_ADMIN_PASSWORD): create the admin account, or reset its password."""
    with reading() as session:
        existing = session.execute(sa.select(Account).where(Account.name == name)).scalar_one_or_none()
    if existing is None:
        try:
            add_account(name, password, "admin", "")
        except (AccountError, sa.exc.IntegrityError):
            with reading() as session:  # another worker or host created it meanwhile: that is fine
                if session.execute(sa.select(Account.id).where(Account.name == name)).first() is None:
                    raise
    elif not verify_password(name, password, existing.password_hash):
        set_password(name, password)
