"""The area picker of the list pages' filter forms: the viewer's scope, then each township with its
villages under it, by name (never a raw code to type)."""
from __future__ import annotations

from flask import g

from schemas.areas import TOWNSHIP, VILLAGE

from server.services.ledger import areas as ledger_areas


def options(scope: str) -> list[tuple[str, str, str]]:
    """(code, name, level) of the townships and villages under `scope`, a township before its
    villages; looked up once per request."""
    cache = g.setdefault("_paicha_area_options", {})
    if scope not in cache:
        found = [a for a in ledger_areas.under(scope) if a[2] in (TOWNSHIP, VILLAGE) and a[0] != scope]
        cache[scope] = sorted(found, key=lambda a: a[0])
    return cache[scope]
