"""The figures an office is measured by (考核指标) for an area of my scope and a period, with the same
period a year earlier and each figure's definition: the same counts as the ledger's figures page
(`server.services.matters.figures`)."""
from __future__ import annotations

import datetime as dt

from flask import current_app, request

from schemas.errors import PaichaError

from server.core import clock
from server.core.access import domain_database
from server.services.ledger import windows
from server.services.matters import figures as matter_figures

from mobile_api.api import bp, ok
from mobile_api.context import area_filter, principal
from mobile_api.openapi import operation, param, response_schema

MAX_DAYS = 800
_DAY = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
FIGURE_QUERY = (
    param("area", {"type": "string", "pattern": "^(?:[0-9]{6}|[0-9]{9}|[0-9]{12})$"},
          "the area (and the areas below it); must be inside my scope; left out: my scope"),
    param("since", _DAY, "the period's first day (Asia/Shanghai); left out: `until` less the ledger's window"),
    param("until", _DAY, "the period's last day; left out: today"),
)


@response_schema("Figures")
def _figures_schema():
    count = {"type": "object", "required": ["num", "den", "rate"],
             "properties": {"num": {"type": "integer"}, "den": {"type": "integer"},
                            "rate": {"type": ["number", "null"], "description": "num / den; null when den is 0"}}}
    return {"type": "object", "required": ["area", "since", "until", "last_year", "figures"],
            "properties": {
                "area": {"type": "string"}, "since": _DAY, "until": _DAY, "today": _DAY,
                "last_year": {"type": "object", "properties": {"since": _DAY, "until": _DAY}},
                "figures": {"type": "array", "items": {
                    "type": "object", "required": ["key", "name", "definition", "now", "last_year", "change"],
                    "properties": {
                        "key": {"enum": list(matter_figures.KEYS)}, "name": {"type": "string"},
                        "definition": {"type": "string", "description": "what the denominator and numerator count"},
                        "now": count, "last_year": count,
                        "change": {"type": ["number", "null"],
                                   "description": "the rate's change on the same period a year earlier, in points"}}}}}}


def _day(name: str, default: dt.date) -> dt.date:
    value = request.args.get(name)
    if value is None:
        return default
    day = windows.parse_day(value)
    if day is None:
        raise PaichaError("invalid_parameter", name=name, reason="not a day YYYY-MM-DD between 1900 and 2100")
    return day


@bp.get("/figures")
@operation(summary="The office's figures (考核指标) for an area and a period, against the same period last year",
           tag="matters", ok={200: "Figures"}, problems=(400, 403), query=FIGURE_QUERY,
           description="及时受理率, 按期答复率, 按期办结率, 参评率, 参评满意率, 群众满意率, 一次性化解率, 化解率 and "
                       "重复信访率 over the matters of the area, each with its definition; the same counts the "
                       "ledger's figures page shows. An area outside my scope is 403 out_of_scope.")
def office_figures():
    who = principal()
    area = area_filter(who) or (who.scope or "")
    until = _day("until", clock.today())
    since = _day("since", until - dt.timedelta(days=current_app.config["PAICHA_LEDGER_DAYS"]))
    if since > until:
        raise PaichaError("invalid_parameter", name="since", reason="after until")
    if (until - since).days > MAX_DAYS:
        raise PaichaError("invalid_parameter", name="since", reason=f"the period is at most {MAX_DAYS} days")
    today = clock.today()
    rows = matter_figures.report(domain_database(who), area, since, until, today,
                                 accept_days=current_app.config["PAICHA_MATTER_ACCEPT_DAYS"],
                                 handle_days=current_app.config["PAICHA_MATTER_HANDLE_DAYS"])
    before_since, before_until = matter_figures.last_year(since, until)
    return ok({"area": area, "since": since.isoformat(), "until": until.isoformat(), "today": today.isoformat(),
               "last_year": {"since": before_since.isoformat(), "until": before_until.isoformat()},
               "figures": [{"key": r["key"], "name": r["name"], "definition": r["definition"],
                            "now": r["now"], "last_year": r["before"], "change": r["change"]} for r in rows]})
