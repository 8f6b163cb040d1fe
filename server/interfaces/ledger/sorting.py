"""The `sort` and `dir` parameters of a list page: a column from the list's own whitelist and a
direction, or 400 saying what the list sorts by (never an unknown column reaching SQL)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import request

from schemas.errors import PaichaError


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool

    def args(self) -> dict[str, str]:
        """The query parameters that ask for this order (kept by pagers, filters and exports)."""
        return {"sort": self.key, "dir": "desc" if self.descending else "asc"}


def sort_of(allowed: tuple[str, ...], default: str, *, descending: bool = False) -> Sort:
    key = request.args.get("sort") or default
    direction = request.args.get("dir") or ("desc" if descending and key == default else "asc")
    if key not in allowed or direction not in ("asc", "desc"):
        raise PaichaError("bad_sort", name=key[:40], allowed="、".join(allowed))
    return Sort(key, direction == "desc")
