"""The dispute file's step forms (事项办理): one post per step, written by `services.matters.steps`
under the same write rules as a phone's step; a refusal shows the file again with why."""
from __future__ import annotations

from flask import redirect, request, url_for

from schemas.errors import PaichaError
from schemas.vocabulary import STEP_KINDS

from server.core import clock
from server.core.access import domain_database
from server.services.matters import steps
from server.interfaces.ledger.i18n import lang
from server.interfaces.ledger.matter_file import terms
from server.interfaces.ledger.security import check_csrf, viewer
from server.interfaces.ledger.views import _doc_id, bp, render_dispute

TEXT_LIMIT = 10000


def _fields(form) -> dict:
    """The step's fields from the form: text trimmed, empty ones left out, days a number."""
    out = {}
    for name in steps.FIELDS:
        value = (form.get(name) or "").strip()
        if not value or name == "at":
            continue
        if len(value) > TEXT_LIMIT:
            raise PaichaError("bad_request")
        if name == "days":
            if not value.isdigit() or len(value) > 4:
                raise PaichaError("bad_request")
            out[name] = int(value)
        else:
            out[name] = value
    return out


@bp.post("/dispute/<path:dispute_id>/step")
def record_step(dispute_id):
    check_csrf()
    who = viewer()
    kind = request.form.get("kind")
    if kind not in STEP_KINDS:
        raise PaichaError("bad_request")
    database = domain_database(who)
    matter_id = _doc_id(dispute_id)
    try:
        steps.record(database, matter_id, kind, _fields(request.form), user=who.name, now=clock.now(), terms=terms())
    except PaichaError as error:
        if error.code == "record_not_found":
            raise PaichaError("missing") from None
        if error.status >= 500:
            raise
        return render_dispute(who, database, matter_id, error=error.message(lang()), status=422)
    return redirect(url_for("ledger.dispute", dispute_id=matter_id, saved="step"))
