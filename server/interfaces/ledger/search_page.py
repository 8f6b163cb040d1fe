"""Search (/ledger/search?q=): matters, reports, visits and households of the viewer's area, by a
party's name or phone, a registration number or a word of the text (`server.services.search`)."""
from __future__ import annotations

from flask import render_template, request

from server.core.access import domain_database
from server.services.search import queries as search_queries
from server.interfaces.ledger import area_picker
from server.interfaces.ledger.sorting import sort_of
from server.interfaces.ledger.security import area_in_scope, viewer
from server.interfaces.ledger.views import bp

RESULTS_SHOWN = 50


@bp.get("/search")
def search():
    who = viewer()
    area = area_in_scope(who, request.args.get("area"))
    query = (request.args.get("q") or "").strip()
    order = sort_of(search_queries.SORT_KEYS, "at", descending=True)
    hits, more = search_queries.search(domain_database(who), who, query, area, limit=RESULTS_SHOWN, sort=order.key,
                                       descending=order.descending) if query else ([], False)
    return render_template("search.html", area=area, order=order, areas=area_picker.options(who.scope or ""), query=query[:search_queries.MAX_QUERY], hits=hits,
                           more=more, too_long=len(query) > search_queries.MAX_QUERY)
