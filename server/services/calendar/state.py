"""The calendar's own small state (table `calendar_state`): how far the tick has covered the calendar.

    generated_through   the last date (Asia/Shanghai) a tick covered: the next one catches up from it
    started_on          the first date the first tick covered: rounds of periods before it were
                        never planned (so never "missing")

Values only move one way (`raise_state`), so two processes ticking at once cannot move them back.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

import sqlalchemy as sa
from flask import Flask

from server.core.upsert import upsert
from server.services.calendar import tables

WATERMARK = "generated_through"
STARTED = "started_on"


def get_state(app: Flask, key: str) -> str | None:
    with app.extensions["paicha_store"].engine.connect() as conn:
        return read_state(conn, key)


def read_state(conn: sa.Connection, key: str) -> str | None:
    return conn.execute(sa.select(tables.state.c.value).where(tables.state.c.key == key)).scalar()


def started_on(app: Flask) -> dt.date | None:
    value = get_state(app, STARTED)
    return dt.date.fromisoformat(value) if value else None


def raise_state(conn: sa.Connection, key: str, value: str, newer: Callable[[str, str], bool]) -> None:
    """Set `key` to `value` unless the stored value is already newer (`newer(old, value)`)."""
    old = conn.execute(sa.select(tables.state.c.value).where(tables.state.c.key == key)
                       .with_for_update()).scalar()
    if old is None:
        upsert(conn, tables.state, [{"key": key, "value": value}], ("key",))
    elif not newer(old, value):
        conn.execute(tables.state.update().where(tables.state.c.key == key).values(value=value))


def raise_watermark(app: Flask, day: dt.date, first: dt.date) -> None:
    """The tick covered [first, day]: move the watermark up to `day`, the start back to `first`."""
    with app.extensions["paicha_store"].writing() as conn:
        raise_state(conn, WATERMARK, day.isoformat(), lambda old, new: old >= new)
        raise_state(conn, STARTED, first.isoformat(), lambda old, new: old <= new)
