"""Who may read and write what, per database.

The domain database (`/paicha`) is scoped: an account reads the documents whose area code starts
with its scope, and every write is validated against `schemas/` and the role's write rules; refused
documents go to the quarantine, accepted ones through the write hooks (audit trail, ...). Other
databases are plain CouchDB databases (training sandboxes, staging, conformance tests) open to any
authenticated account, with `_local` checkpoints private to each account.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, has_request_context, request

import schemas
from schemas.rules import Actor, Refusal, check_write
from sync.access import PLAIN, Access, DbRules, WriteAttempt

from server.core.auth import Principal
from server.core.hooks import WriteContext, run_write_hooks
from server.services.quarantine import hold

DEVICE_HEADER = "X-Paicha-Device"


def _domain_db(app: Flask) -> str:
    return app.config["PAICHA_DOMAIN_DB"]


def rules_for(app: Flask, db_name: str) -> DbRules:
    if db_name == _domain_db(app):
        return DbRules(scope_of=schemas.rules.scope_of)
    return PLAIN


def device_id() -> str | None:
    value = request.headers.get(DEVICE_HEADER) if has_request_context() else None
    return value[:100] if value else None


@dataclass(frozen=True)
class DocumentAlone:
    """What the domain makes of an incoming revision by itself (`Access.precheck`)."""
    refusal: Refusal | None


def document_alone(new: dict) -> DocumentAlone:
    """The checks that need no stored state: the schema and the coordinates (a deletion has none)."""
    if new.get("_deleted") is True:
        return DocumentAlone(None)
    problems = schemas.validate_document(new)
    if problems:
        return DocumentAlone(Refusal("invalid_document", "Invalid document: " + "; ".join(problems[:5])))
    bad_place = _coordinates_problem(new)
    return DocumentAlone(Refusal("bad_coordinates", bad_place) if bad_place else None)


def domain_write_check(actor: Actor):
    def check(attempt: WriteAttempt) -> str | None:
        new = attempt.new
        if attempt.deleting:
            if attempt.old is None and "type" not in new:
                # A document created and deleted on the phone before it ever synced: nothing to
                # keep and nothing to refuse.
                return None
            return check_write(actor, attempt.old, new, deleting=True)
        alone = attempt.prechecked if isinstance(attempt.prechecked, DocumentAlone) else document_alone(new)
        if alone.refusal:
            return alone.refusal
        return check_write(actor, attempt.old, new)

    return check


def _coordinates_problem(doc: dict) -> str | None:
    """Coordinates a JSON Schema cannot judge (0,0, a fix time without offset, ...)."""
    from server.services.geo import validate_fix, validate_location

    if doc.get("type") == "household_visit":
        return validate_fix(doc.get("fix"))
    if doc.get("type") == "household":
        return validate_location(doc.get("location"))
    return None


def access_for(principal: Principal, db_name: str) -> Access:
    app = current_app._get_current_object()
    if db_name != _domain_db(app):
        return Access(user=principal.name, is_admin=principal.is_admin)
    context = WriteContext(db_name=db_name, account=principal.name, device_id=device_id())
    actor = Actor(principal.name, principal.role, principal.scope)
    return Access(
        user=principal.name,
        is_admin=principal.is_admin,
        read_prefixes=None if principal.is_admin and not principal.scope else (principal.scope,),
        check_write=domain_write_check(actor),
        precheck=document_alone,
        record_writes=run_write_hooks(app, context),
        record_refusals=lambda refused: hold(app, context, refused),
    )


def server_access(app: Flask, name: str = "server") -> Access:
    """The calendar and other server jobs: writes checked as role `server`, reads everything."""
    db_name = _domain_db(app)
    context = WriteContext(db_name=db_name, account=name, device_id=None)
    return Access(
        user=name,
        is_admin=True,
        read_prefixes=None,
        check_write=domain_write_check(Actor(name, "server", "")),
        precheck=document_alone,
        record_writes=run_write_hooks(app, context),
        record_refusals=lambda refused: hold(app, context, refused),
    )
