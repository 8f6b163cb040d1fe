"""Who may read and write what, per database.

The domain database (`/paicha`) is scoped: an account reads the documents whose area code starts
with its scope, and every write is validated against `schemas/`, the role's write rules and the
checks the services registered (`server.core.hooks`); refused documents go to the refusal handlers
(the quarantine), accepted ones through the write hooks (audit trail, ...). Other databases are
plain CouchDB databases (training sandboxes, staging, conformance tests) open to any authenticated
account, with `_local` checkpoints private to each account.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import Flask, current_app, has_request_context, request

import schemas
from schemas.rules import Actor, Refusal, check_write
from sync.access import Access, WriteAttempt

from server.core.auth import Principal
from server.core.hooks import DocumentCheck, WriteContext, document_checks, run_refusal_handlers, run_write_hooks
from server.core.store import get_store

DEVICE_HEADER = "X-Paicha-Device"


def _domain_db(app: Flask) -> str:
    return app.config["PAICHA_DOMAIN_DB"]


def device_id() -> str | None:
    value = request.headers.get(DEVICE_HEADER) if has_request_context() else None
    return value[:100] if value else None


@dataclass(frozen=True)
class DocumentAlone:
    """What the domain makes of an incoming revision by itself (`Access.precheck`)."""
    refusal: Refusal | None


def document_alone(new: dict, checks: tuple[DocumentCheck, ...] = ()) -> DocumentAlone:
    """The checks that need no stored state: the schema, then `checks` (a deletion has none)."""
    if new.get("_deleted") is True:
        return DocumentAlone(None)
    problems = schemas.validate_document(new)
    if problems:
        return DocumentAlone(Refusal("invalid_document", "Invalid document: " + "; ".join(problems[:5])))
    for check in checks:
        refusal = check(new)
        if refusal:
            return DocumentAlone(refusal)
    return DocumentAlone(None)


def prechecker(app: Flask) -> Callable[[dict], DocumentAlone]:
    """`document_alone` with the document checks the services registered on `app`."""
    checks = document_checks(app)
    return lambda new: document_alone(new, checks)


def domain_write_check(actor: Actor, precheck: Callable[[dict], DocumentAlone] = document_alone):
    def check(attempt: WriteAttempt) -> str | None:
        new = attempt.new
        if attempt.deleting:
            if attempt.old is None and "type" not in new:
                # A document created and deleted on the phone before it ever synced: nothing to
                # keep and nothing to refuse.
                return None
            return check_write(actor, attempt.old, new, deleting=True)
        alone = attempt.prechecked if isinstance(attempt.prechecked, DocumentAlone) else precheck(new)
        if alone.refusal:
            return alone.refusal
        return check_write(actor, attempt.old, new)

    return check


def domain_access(app: Flask, actor: Actor, context: WriteContext, *, is_admin: bool,
                  read_prefixes: tuple[str, ...] | None) -> Access:
    """`actor`'s access to the domain database: writes checked by the rules, accepted ones
    recorded by the write hooks, refused ones handed to the refusal handlers."""
    precheck = prechecker(app)
    return Access(
        user=context.account,
        is_admin=is_admin,
        read_prefixes=read_prefixes,
        check_write=domain_write_check(actor, precheck),
        precheck=precheck,
        record_writes=run_write_hooks(app, context),
        record_refusals=run_refusal_handlers(app, context),
    )


def access_for(principal: Principal, db_name: str) -> Access:
    app = current_app._get_current_object()
    if db_name != _domain_db(app):
        return Access(user=principal.name, is_admin=principal.is_admin)
    context = WriteContext(db_name=db_name, account=principal.name, device_id=device_id())
    return domain_access(app, Actor(principal.name, principal.role, principal.scope), context,
                         is_admin=principal.is_admin,
                         read_prefixes=None if principal.is_admin and not principal.scope else (principal.scope,))


def domain_database(who: Principal):
    """The domain database as `who` sees it: reads limited to their scope, writes under the rules."""
    name = _domain_db(current_app)
    return get_store().open(name, access_for(who, name))


def server_access(app: Flask, name: str = "server") -> Access:
    """The calendar and other server jobs: writes checked as role `server`, reads everything."""
    context = WriteContext(db_name=_domain_db(app), account=name, device_id=None)
    return domain_access(app, Actor(name, "server", ""), context, is_admin=True, read_prefixes=None)
