"""Write hooks: code that runs inside the write transaction of every accepted write to the domain
database (the audit trail, visit geotagging, ...). Each hook gets the connection, so what it
records commits or rolls back together with the documents."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
from flask import Flask

from sync.access import AcceptedWrite


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
