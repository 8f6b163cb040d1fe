"""The areas the ledger names and lists (the area registry, read with the app's engine)."""
from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa
from flask import current_app

from server.core import areas
from server.services.ledger.windows import MAX_ROWS


def engine() -> sa.Engine:
    return current_app.extensions["paicha_store"].engine


def names(codes: Iterable[str]) -> dict[str, str]:
    with engine().connect() as conn:
        return areas.names(conn, codes)


def under(area: str, level: str | None = None) -> list[tuple[str, str, str]]:
    """(code, name, level) of the areas under `area` (itself included), at most MAX_ROWS."""
    with engine().connect() as conn:
        return areas.under(conn, area, level, limit=MAX_ROWS)
