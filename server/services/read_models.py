"""The read models the services keep from the domain database's documents, each a projection run
inside every write's transaction (`server.core.projections`):

    calendar_reports, calendar_rounds   the calendar's report and round index (calendar.report_index)
    ledger_records                      the facts of each dispute and notice (ledger.index)
    matter_numbers, _steps, _states     each matter's registration number, steps and derived stage
                                        (matters.index)
    visit_checks, geo_households        the visit checks and the household index (geo.visits)
    search_documents, search_grams      the search index (search.index)

`init_app(app)` registers them, after the audit trail (whose first entry for a report is its
receive time) and before anything is written. `flask projections rebuild` fills them from the
stored documents (after an upgrade, or a table emptied by hand).
"""
from __future__ import annotations

from flask import Flask

from server.core.projections import register_projection
from server.services.calendar import report_index
from server.services.geo import visits
from server.services.ledger import index as ledger_index
from server.services.matters import index as matter_index
from server.services.search import index as search_index


def init_app(app: Flask) -> None:
    if app.extensions.get("paicha_read_models"):
        return  # idempotent
    app.extensions["paicha_read_models"] = True
    register_projection(app, report_index.projection(app))
    register_projection(app, ledger_index.project)
    register_projection(app, matter_index.projection(app), prepare=matter_index.prepare)
    register_projection(app, visits.projection(app))
    register_projection(app, search_index.project)
