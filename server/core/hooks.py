"""What the services add to the domain's writes, registered at app start (so the core that checks
and records writes names none of them):

    write hooks        run inside the write transaction of every accepted write to the domain
                       database (the audit trail, visit geotagging, ...); each gets the connection,
                       so what it records commits or rolls back together with the documents
    refusal handlers   get the refused revisions of a write, after it (the quarantine)
    document checks    judge an incoming revision by itself, before any stored state is read, and
                       may refuse it (coordinates a JSON Schema cannot judge)"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
from flask import Flask

from schemas.rules import Refusal
from sync.access import AcceptedWrite, WriteAttempt


@dataclass(frozen=True)
class WriteContext:
    db_name: str
    account: str
    device_id: str | None


WriteHook = Callable[[sa.Connection, WriteContext, list[AcceptedWrite]], None]


def register_write_hook(app: Flask, hook: WriteHook) -> None:
    app.extensions.setdefault("paicha_write_hooks", []).append(hook)


def write_hooks(app: Flask) -> list[WriteHook]:
    return app.extensions.get("paicha_write_hooks", [])


def run_write_hooks(app: Flask, context: WriteContext):
    hooks = list(write_hooks(app))

    def record(conn: sa.Connection, writes: list[AcceptedWrite]) -> None:
        for hook in hooks:
            hook(conn, context, writes)

    return record


RefusalHandler = Callable[[WriteContext, list[tuple[WriteAttempt, str]]], None]


def register_refusal_handler(app: Flask, handler: RefusalHandler) -> None:
    app.extensions.setdefault("paicha_refusal_handlers", []).append(handler)


def run_refusal_handlers(app: Flask, context: WriteContext):
    handlers = list(app.extensions.get("paicha_refusal_handlers", []))

    def record(refused: list[tuple[WriteAttempt, str]]) -> None:
        for handler in handlers:
            handler(context, refused)

    return record


DocumentCheck = Callable[[dict], Refusal | None]


def register_document_check(app: Flask, check: DocumentCheck) -> None:
    app.extensions.setdefault("paicha_document_checks", []).append(check)


def document_checks(app: Flask) -> tuple[DocumentCheck, ...]:
    return tuple(app.extensions.get("paicha_document_checks", []))
