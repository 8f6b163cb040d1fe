"""The filters and order of the disputes list (/ledger/disputes), read once from the query and
applied the same to the page and to its exports (.xlsx, .csv)."""
from __future__ import annotations

from flask import request

from schemas.errors import PaichaError
from schemas.vocabulary import DISPUTE_CATEGORIES, DISPUTE_STATUSES, MATTER_STAGES, RISK_LEVELS

from server.core import clock
from server.services.ledger import windows
from server.services.matters.queries import SORT_KEYS, MatterFilters
from server.interfaces.ledger.sorting import Sort, sort_of

#: The query parameters of the form (the pager, the sort links and the exports keep them all).
ARGS = ("area", "status", "risk", "category", "stage", "overdue", "open", "key", "since", "until", "sort", "dir")


def _choice(name: str, allowed) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        raise PaichaError("bad_request")
    return value


def _day(name: str):
    value = request.args.get(name)
    if not value:
        return None
    day = windows.parse_day(value)
    if day is None:
        raise PaichaError("bad_date", name=name)
    return day


def matter_filters() -> MatterFilters:
    since, until = _day("since"), _day("until")
    if since and until and (since > until or (until - since).days > 800):
        raise PaichaError("bad_window")
    return MatterFilters(
        status=_choice("status", DISPUTE_STATUSES), risk=_choice("risk", RISK_LEVELS),
        category=_choice("category", DISPUTE_CATEGORIES), stage=_choice("stage", MATTER_STAGES),
        open_only=request.args.get("open") == "1", key_only=request.args.get("key") == "1",
        overdue_on=clock.today() if request.args.get("overdue") == "1" else None, since=since, until=until)


def matter_sort() -> Sort:
    return sort_of(SORT_KEYS, "id")


def kept_args() -> dict[str, str]:
    """The form's parameters as the request gave them (empty ones dropped)."""
    return {k: v for k, v in request.args.items() if k in ARGS and v}
