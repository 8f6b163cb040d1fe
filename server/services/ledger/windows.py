"""The ledger's windows of time: days in Asia/Shanghai, the moment statuses are taken at, quarters."""
from __future__ import annotations

import datetime as dt

from schemas._formats import FIRST_YEAR, LAST_YEAR

from server.core import clock
from server.services.calendar.periods import start_of_day

MAX_ROWS = 20000  # bound on rows any one page or export computes over


def today() -> dt.date:
    return clock.today()


def end_of(day: dt.date) -> dt.datetime:
    """The first moment after `day` (00:00 of the next day, Asia/Shanghai)."""
    return start_of_day(day + dt.timedelta(days=1))


def status_now(until: dt.date) -> dt.datetime:
    """The moment statuses are taken at: the end of `until`, or the clock if that is earlier."""
    return min(clock.now(), end_of(until) - dt.timedelta(seconds=1))


def in_window(moment: dt.datetime | None, since: dt.date, until: dt.date) -> bool:
    return moment is not None and start_of_day(since) <= moment < end_of(until)


def parse_day(text: str) -> dt.date | None:
    """A YYYY-MM-DD day the ledger can show (1900 to 2100: a day's bounds, windows and quarters then
    stay inside what datetime handles); None for anything else."""
    if not (len(text) == 10 and text.isascii() and text[4] == text[7] == "-"):
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None


def quarter_bounds(text: str | None) -> tuple[str, dt.date, dt.date]:
    """(label, first day, last day) of the quarter `text` (YYYYQn, 1900 to 2100), or of today's
    when `text` is empty; ValueError for anything else."""
    day = today()
    year, q = day.year, (day.month - 1) // 3 + 1
    if text:
        if not (len(text) == 6 and text.isascii() and text[:4].isdigit() and text[4] in "Qq"
                and text[5] in "1234" and FIRST_YEAR <= int(text[:4]) <= LAST_YEAR):
            raise ValueError(f"not a quarter from {FIRST_YEAR}Q1 to {LAST_YEAR}Q4: {text!r}")
        year, q = int(text[:4]), int(text[5])
    start = dt.date(year, 3 * q - 2, 1)
    end = (dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)) - dt.timedelta(days=1)
    return f"{year}Q{q}", start, end
