"""Filing an area's own round on the web: the district's monthly screening and its quarterly
round-up (研判: conclusions, key disputes picked, follow-up assigned), and a township's half-month
round, by the staff of that area. The report is a `screening_report` written through the same
store handle and rules as a phone's, so it counts in the ledger, is reviewed and replicates alike.
"""
from __future__ import annotations

import datetime as dt

from flask import redirect, render_template, request, url_for

from schemas.areas import is_area_code
from schemas.errors import PaichaError
from sync import errors

from server.core import clock
from server.core.access import domain_database
from server.services import file_access
from server.services.calendar.periods import QUARTERLY
from server.services.collections import REPORTS
from server.services.ledger import areas as ledger_areas, disputes as dispute_queries
from server.interfaces.ledger.i18n import t
from server.interfaces.ledger.security import check_csrf, may_file, viewer
from server.interfaces.ledger.views import bp, document_of_type
from server.interfaces.ledger.writes import write

FOLLOW_UP_ROWS = 3
MAX_PICKS = 200


def report_id_for(round_id: str) -> str:
    return f"report-{round_id}"


def _round(database, round_id: str) -> dict:
    return document_of_type(database, round_id, "screening_round")


def _existing(database, round_id: str) -> dict | None:
    try:
        return database.get(report_id_for(round_id))
    except errors.NotFound:
        return None


def _period(round_doc: dict) -> tuple[dt.date, dt.date]:
    return dt.date.fromisoformat(round_doc["period_start"]), dt.date.fromisoformat(round_doc["period_end"])


def _choices(who, database, round_doc: dict) -> dict:
    """What the form offers to pick: the disputes registered in the period at the round's own area,
    and for the quarterly round-up the key disputes of the whole area (registered or resolved in the
    quarter, or still open at its end) and the areas a follow-up can go to."""
    start, end = _period(round_doc)
    area = round_doc["area"]
    found = [d for d in dispute_queries.dispute_facts(database, area, start, end) if d["area"] == area]
    # their summaries may quote the parties: masked for a viewer who does not handle them
    out = {"found": file_access.mask_rows(database, who, found[:MAX_PICKS]), "key": [], "areas": []}
    if round_doc.get("level") == QUARTERLY:
        out["key"] = file_access.mask_rows(database, who, dispute_queries.dispute_facts(
            database, area, start, end, key_only=True, open_before=end)[:MAX_PICKS])
        out["areas"] = [(code, name) for code, name, _level in ledger_areas.under(area)
                        if len(code) <= len(area) + 3]
    return out


def _render(who, database, round_doc, form: dict, *, error=None, saved=False, status=200):
    existing = _existing(database, round_doc["_id"])
    return render_template("file_round.html", round_doc=round_doc, form=form, existing=existing,
                           choices=_choices(who, database, round_doc), quarterly=round_doc.get("level") == QUARTERLY,
                           follow_up_rows=FOLLOW_UP_ROWS, error=error, saved=saved), status


def _form_of(report: dict | None) -> dict:
    """The form's values from the report already filed (editing), or a fresh form."""
    if report is None:
        return {"nil_report": True}
    return {k: report.get(k) for k in ("nil_report", "disputes", "summary", "conclusions", "key_disputes",
                                        "follow_up", "households_screened")}


@bp.get("/round/<path:round_id>/file")
def file_round(round_id):
    who = viewer()
    database = domain_database(who)
    round_doc = _round(database, round_id)
    if not may_file(who, round_doc["area"]):
        raise PaichaError("forbidden_write")
    return _render(who, database, round_doc, _form_of(_existing(database, round_doc["_id"])),
                   saved=request.args.get("saved") == "1")


@bp.post("/round/<path:round_id>/file")
def save_round_report(round_id):
    check_csrf()
    who = viewer()
    database = domain_database(who)
    round_doc = _round(database, round_id)
    if not may_file(who, round_doc["area"]):
        raise PaichaError("forbidden_write")
    form = request.form
    nil = form.get("nil_report") == "1"
    picked = [d for d in form.getlist("disputes") if d][:MAX_PICKS]
    fields = {"area": round_doc["area"], "round_id": round_doc["_id"], "nil_report": nil,
              "summary": form.get("summary", "").strip()}
    if not nil:
        fields["disputes"] = picked
    quarterly = round_doc.get("level") == QUARTERLY
    if quarterly:
        fields["conclusions"] = form.get("conclusions", "").strip()
        fields["key_disputes"] = [d for d in form.getlist("key_disputes") if d][:MAX_PICKS]
        fields["follow_up"] = _follow_up(form, round_doc["area"])
    shown = {**fields, "disputes": picked}
    if not nil and not picked:
        return _render(who, database, round_doc, shown, error=t("pick_or_nil"), status=422)
    if quarterly and not fields["conclusions"]:
        return _render(who, database, round_doc, shown, error=t("conclusions_required"), status=422)
    if len(fields["summary"]) > 10000 or len(fields.get("conclusions", "")) > 10000:
        return _render(who, database, round_doc, shown, error=t("text_too_long"), status=422)
    now = clock.now()
    problem = write(database, REPORTS, report_id_for(round_doc["_id"]), fields, who, now)
    if problem:
        return _render(who, database, round_doc, shown, error=problem, status=422)
    return redirect(url_for("ledger.file_round", round_id=round_doc["_id"], saved="1"))


def _follow_up(form, round_area: str) -> list[dict]:
    """The follow-up rows filled in (an action with an area in scope; a due date if given)."""
    rows = []
    for i in range(FOLLOW_UP_ROWS):
        action = (form.get(f"follow_action_{i}") or "").strip()
        area = form.get(f"follow_area_{i}") or ""
        due = form.get(f"follow_due_{i}") or ""
        if not action:
            continue
        if not (is_area_code(area) and area.startswith(round_area)):
            raise PaichaError("forbidden_area")
        row = {"action": action[:200], "area": area}
        if due:
            try:
                row["due_date"] = dt.date.fromisoformat(due).isoformat()
            except ValueError:
                raise PaichaError("bad_date", name=f"follow_due_{i}")
        rows.append(row)
    return rows
