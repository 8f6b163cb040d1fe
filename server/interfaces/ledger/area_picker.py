"""The area pickers, by name (never a raw code to type): the list pages' filters (the viewer's scope,
then each township with its villages under it), and the forms that write to an area (a notice's
target, a registered matter's area: the viewer's own township too)."""
from __future__ import annotations

from flask import g

from schemas.areas import TOWNSHIP, VILLAGE

from server.services.ledger import areas as ledger_areas


def targets(scope: str) -> list[tuple[str, str, str]]:
    """(code, name, level) of the townships and villages under `scope`, `scope` itself included, in
    code order (a township before its villages); looked up once per request."""
    cache = g.setdefault("_paicha_area_targets", {})
    if scope not in cache:
        cache[scope] = [a for a in ledger_areas.under(scope) if a[2] in (TOWNSHIP, VILLAGE)]
    return cache[scope]


def options(scope: str) -> list[tuple[str, str, str]]:
    """The filters' choices: `targets` without `scope` itself (全部 stands for it)."""
    return [a for a in targets(scope) if a[0] != scope]
