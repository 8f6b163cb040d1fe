"""The quarantine: every refused edit is kept, and its writer is told, so nothing refused is lost
from sight.

    entries.py    the `quarantine` table: one row per refused revision (re-sends counted), held
                  until re-admitted, discarded, or superseded by a later valid revision (a write
                  hook, inside that write's transaction)
    notices.py    `refusal_notice` documents, written by the server into the writer's area so
                  they replicate to the writer's phones; resolved when the entry is closed
    decisions.py  an administrator re-admits an entry (as sent, or corrected) through the normal
                  rules, or discards it with a reason
    reasons.py    why (Chinese and English), what to do, names of statuses and types

The engine reports a write's refusals outside its transaction (`Access.record_refusals` ->
`hold`). Administrators work the quarantine at /ledger/quarantine (server/ledger/quarantine_views.py)
or with `flask quarantine list|show|readmit|discard|notify`.
"""
from __future__ import annotations

import logging

from flask import Flask

from server.core.hooks import WriteContext, register_refusal_handler, register_write_hook
from server.services.quarantine.decisions import DecisionError, Readmission, administrator, discard, readmit
from server.services.quarantine.entries import (
    DISCARDED,
    HELD,
    READMITTED,
    STATUSES,
    SUPERSEDED,
    Filters,
    hold,
    search,
    superseded_meanwhile,
    supersede,
)
from server.services.quarantine.notices import settle

__all__ = ["DISCARDED", "HELD", "READMITTED", "STATUSES", "SUPERSEDED", "DecisionError", "Filters", "Readmission",
           "administrator", "discard", "hold", "hold_and_tell", "init_app", "readmit", "search", "settle", "supersede"]


log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Hold every refused revision and tell its writer; close held entries when a later revision
    is accepted, and resolve their notices once that write has committed (at the end of the
    request or app context that made it)."""
    if app.extensions.get("paicha_quarantine"):
        return
    app.extensions["paicha_quarantine"] = True
    register_refusal_handler(app, lambda context, refused: hold_and_tell(app, context, refused))
    register_write_hook(app, supersede)
    app.teardown_request(lambda _exc: settle_after(app))
    app.teardown_appcontext(lambda _exc: settle_after(app))


def hold_and_tell(app: Flask, context: WriteContext, refused) -> None:
    """The refusal handler: keep the refused revisions of one write, then tell their writers."""
    if hold(context, refused):
        settle(app)


def settle_after(app: Flask) -> None:
    """At the end of a request (or app context) whose writes superseded entries: resolve their
    notices, now that those writes have committed."""
    if superseded_meanwhile():
        try:
            settle(app)
        except Exception:  # noqa: BLE001 - the write succeeded; the next settle catches up
            log.exception("resolving refusal notices failed")
