"""Strict ``date`` and ``date-time`` format checks.

jsonschema only checks ``date-time`` when the optional ``rfc3339-validator`` package is installed;
we do not want validation to depend on that, and we want "with an offset" to be non-negotiable
(device clocks are stored with their offsets), so both formats are checked here.

Both also keep to the years the domain handles, 1900 to 2100 as written: `0001-01-01T00:00:00+14:00`
is a calendar date-time, but no screening happened then, and Python's datetime overflows turning it
into UTC, which every later use of the value would do.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from jsonschema import FormatChecker

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
FIRST_YEAR, LAST_YEAR = 1900, 2100
#: The sentence a refusal of an otherwise well-formed date or date-time gives.
OUT_OF_RANGE = f"outside the years {FIRST_YEAR} to {LAST_YEAR}"


def in_range(moment: date) -> bool:
    """A date or datetime whose year, as written, is 1900 to 2100 (a date-time's offset, less than a
    day, then cannot carry it out of what datetime handles when it is turned into UTC)."""
    return FIRST_YEAR <= moment.year <= LAST_YEAR


def out_of_range(value: object) -> bool:
    """A string of the right shape for ``date`` / ``date-time``, a real calendar value, but outside
    the years the domain handles: the reason a format check refused it."""
    if not isinstance(value, str):
        return False
    try:
        if _DATE_RE.fullmatch(value):
            return not in_range(date.fromisoformat(value))
        if _DATE_TIME_RE.fullmatch(value):
            return not in_range(parse_date_time(value))
    except ValueError:
        return False
    return False


def is_date(value: object) -> bool:
    """``YYYY-MM-DD``, a real calendar day, in 1900 to 2100. Non-strings pass (``type`` handles them)."""
    if not isinstance(value, str):
        return True
    if not _DATE_RE.fullmatch(value):
        return False
    try:
        return in_range(date.fromisoformat(value))
    except ValueError:
        return False


def is_date_time(value: object) -> bool:
    """RFC 3339 date-time with seconds and a mandatory offset (``Z`` or ``+hh:mm``), in 1900 to 2100."""
    if not isinstance(value, str):
        return True
    if not _DATE_TIME_RE.fullmatch(value):
        return False
    try:
        return in_range(parse_date_time(value))
    except ValueError:
        return False


def parse_date_time(value: str) -> datetime:
    """Parse a value that passed :func:`is_date_time` into an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


FORMAT_CHECKER = FormatChecker()
FORMAT_CHECKER.checks("date")(is_date)
FORMAT_CHECKER.checks("date-time")(is_date_time)
