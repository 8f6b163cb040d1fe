"""Creating and changing accounts (used by the CLI, the demo data and the admin bootstrap)."""
from __future__ import annotations

import re

import sqlalchemy as sa

from server.core.db import db
from server.core.models import ROLES, Account
from server.core.passwords import forget, hash_password

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")
MIN_PASSWORD = 8


class AccountError(ValueError):
    pass


def validate_scope(role: str, scope: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    expected = {"village_cadre": 12, "township_staff": 9, "district_supervisor": 6}.get(role)
    if role == "admin":
        if scope and not (scope.isdigit() and len(scope) in (6, 9, 12)):
            raise AccountError("an admin's scope is empty (everything) or an area code")
        return scope
    if not (scope.isdigit() and len(scope) == expected):
        raise AccountError(f"a {role} needs a {expected}-digit area code as scope, got {scope!r}")
    return scope


def add_account(name: str, password: str, role: str, scope: str = "", display_name: str | None = None) -> Account:
    if not NAME.match(name):
        raise AccountError("account names are 2-100 characters: lowercase letters, digits, . _ -")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"passwords need at least {MIN_PASSWORD} characters")
    scope = validate_scope(role, scope)
    if db.session.execute(sa.select(Account.id).where(Account.name == name)).first():
        raise AccountError(f"account {name!r} already exists")
    account = Account(name=name, password_hash=hash_password(password), role=role, scope=scope,
                      display_name=display_name, active=True, failed_logins=0)
    db.session.add(account)
    db.session.commit()
    return account


def set_password(name: str, password: str) -> None:
    account = db.session.execute(sa.select(Account).where(Account.name == name)).scalar_one_or_none()
    if account is None:
        raise AccountError(f"no account {name!r}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"passwords need at least {MIN_PASSWORD} characters")
    account.password_hash = hash_password(password)
    account.failed_logins = 0
    account.locked_until = None
    # A new password logs the account out everywhere (cookies and the app's tokens), in the same
    # transaction: whoever knew the old one keeps no session.
    from server.core import auth
    from server.services import tokens

    auth.end_all_sessions(db.session, account.id)
    tokens.revoke_account(db.session, account.id)
    db.session.commit()
    forget(name)


def ensure_admin(password: str, name: str = "admin") -> None:
    """Bootstrap (PAICHA_ADMIN_PASSWORD): create the admin account, or reset its password."""
    existing = db.session.execute(sa.select(Account).where(Account.name == name)).scalar_one_or_none()
    if existing is None:
        try:
            add_account(name, password, "admin", "")
        except AccountError:
            db.session.rollback()
            if db.session.execute(sa.select(Account.id).where(Account.name == name)).first() is None:
                raise
    else:
        from server.core.passwords import verify_password

        if not verify_password(name, password, existing.password_hash):
            set_password(name, password)
