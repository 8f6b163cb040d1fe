"""Strict ``date`` and ``date-time`` format checks.

jsonschema only checks ``date-time`` when the optional ``rfc3339-validator`` package is installed;
we do not want validation to depend on that, and we want "with an offset" to be non-negotiable
(device clocks are stored with their offsets), so both formats are checked here.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from jsonschema import FormatChecker

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)


def is_date(value: object) -> bool:
    """``YYYY-MM-DD`` and a real calendar day. Non-strings pass (``type`` handles them)."""
    if not isinstance(value, str):
        return True
    if not _DATE_RE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_date_time(value: object) -> bool:
    """RFC 3339 date-time with seconds and a mandatory offset (``Z`` or ``+hh:mm``)."""
    if not isinstance(value, str):
        return True
    if not _DATE_TIME_RE.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def parse_date_time(value: str) -> datetime:
    """Parse a value that passed :func:`is_date_time` into an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


FORMAT_CHECKER = FormatChecker()
FORMAT_CHECKER.checks("date")(is_date)
FORMAT_CHECKER.checks("date-time")(is_date_time)
