"""The one clock. Every service asks it for the time, so that a test (or a demo) can set the date
instead of depending on today's.

    now()       aware UTC datetime
    today()     the calendar date in the district's time zone (Asia/Shanghai, UTC+8, no DST)

`set_clock(moment)` starts the clock at `moment` and lets it run on from there (a server under test
keeps its timeouts and expiries working); `set_clock(moment, frozen=True)` stops it there. The
server process reads `PAICHA_CLOCK` (ISO 8601 with an offset, optionally suffixed `!` to freeze)
through the settings, at start.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

_lock = threading.Lock()
_offset = dt.timedelta(0)
_frozen: dt.datetime | None = None


def _real_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def now() -> dt.datetime:
    frozen = _frozen
    return frozen if frozen is not None else _real_now() + _offset


def today() -> dt.date:
    return now().astimezone(SHANGHAI).date()


def set_clock(moment: dt.datetime | None, *, frozen: bool = False) -> None:
    """Start the clock at `moment` (aware), frozen or running; None puts the real time back."""
    global _offset, _frozen
    with _lock:
        if moment is None:
            _offset, _frozen = dt.timedelta(0), None
            return
        if moment.tzinfo is None:
            raise ValueError("the clock needs an aware datetime (with a UTC offset)")
        moment = moment.astimezone(dt.timezone.utc)
        _frozen = moment if frozen else None
        _offset = dt.timedelta(0) if frozen else moment - _real_now()


def parse_setting(text: str) -> tuple[dt.datetime, bool]:
    """`PAICHA_CLOCK`'s value: an ISO 8601 moment with an offset, `!` at the end to freeze it."""
    frozen = text.endswith("!")
    moment = dt.datetime.fromisoformat(text.rstrip("!").strip())
    if moment.tzinfo is None:
        raise ValueError(f"PAICHA_CLOCK={text!r} needs a UTC offset, e.g. 2026-11-20T09:00:00+08:00")
    return moment, frozen


@contextlib.contextmanager
def stopped_at(moment: dt.datetime) -> Iterator[None]:
    """The clock frozen at `moment` for a block, then as it was: for work that replays the past (a
    generated district's records are received when they were written)."""
    global _offset, _frozen
    with _lock:
        saved = (_offset, _frozen)
    set_clock(moment, frozen=True)
    try:
        yield
    finally:
        with _lock:
            _offset, _frozen = saved
