"""Registering a matter on the web (登记): township staff and the district's office register what
comes to them in person or by letter, as a village cadre does on the phone. The dispute is written
through the user-bound store with `services.records`, so the schema and the role and scope rules
decide as for a phone; it gets its registration number as it is stored, and its file opens."""
from __future__ import annotations

import uuid

from flask import redirect, render_template, request, url_for

from schemas.areas import TOWNSHIP, VILLAGE, AreaCode, is_area_code
from schemas.errors import PaichaError
from schemas.vocabulary import DISPUTE_CATEGORIES, RISK_LEVELS

from server.core import clock
from server.core.access import domain_database
from server.services import records
from server.services.collections import DISPUTES
from server.interfaces.ledger import area_picker
from server.interfaces.ledger.i18n import lang, t
from server.interfaces.ledger.security import check_csrf, covers, viewer
from server.interfaces.ledger.views import bp

PARTY_ROWS = 4
PARTY_ROLES = ("applicant", "respondent", "third_party", "other")
TEXT_LIMIT = 4000



def _render(who, form, *, error=None, status=200):
    return render_template("register.html", form=form, error=error, areas=area_picker.targets(who.scope or ""),
                           categories=DISPUTE_CATEGORIES, risks=RISK_LEVELS, roles=PARTY_ROLES,
                           party_rows=range(PARTY_ROWS)), status


def _number(form, name: str, *, whole: bool):
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = int(raw) if whole else round(float(raw), 2)
    except ValueError:
        raise ValueError(t("register_bad_number", field=t("field_" + name))) from None
    if value < (1 if whole else 0) or value > 10 ** 9:
        raise ValueError(t("register_bad_number", field=t("field_" + name)))
    return value


def dispute_from_form(form) -> dict:
    """The dispute's fields from the form (ValueError with the reason, in the page's language)."""
    summary = (form.get("summary") or "").strip()
    if not summary:
        raise ValueError(t("register_summary_required"))
    if len(summary) > TEXT_LIMIT:
        raise ValueError(t("register_too_long", limit=TEXT_LIMIT))
    parties = []
    for i in range(PARTY_ROWS):
        name = (form.get(f"party_name_{i}") or "").strip()
        if not name:
            continue
        party = {"name": name[:100], "role": form.get(f"party_role_{i}") or "applicant"}
        if party["role"] not in PARTY_ROLES:
            raise PaichaError("bad_request")
        phone = (form.get(f"party_phone_{i}") or "").strip()
        id_number = (form.get(f"party_id_number_{i}") or "").strip().upper()  # the check character X
        if phone:
            party["phone"] = phone
        if id_number:
            party["id_number"] = id_number
        parties.append(party)
    if not parties:
        raise ValueError(t("register_party_required"))
    fields = {"summary": summary, "parties": parties, "status": "registered",
              "category": form.get("category"), "risk_level": form.get("risk_level")}
    if fields["category"] not in DISPUTE_CATEGORIES or fields["risk_level"] not in RISK_LEVELS:
        raise PaichaError("bad_request")
    for name, whole in (("people_involved", True), ("amount_yuan", False)):
        value = _number(form, name, whole=whole)
        if value is not None:
            fields[name] = value
    if (form.get("occurred_on") or "").strip():
        fields["occurred_on"] = form["occurred_on"].strip()
    detail = (form.get("category_detail") or "").strip()
    if detail:
        fields["category_detail"] = detail[:200]
    return fields


@bp.route("/dispute/new", methods=["GET", "POST"])
def register_dispute():
    who = viewer()
    if request.method == "GET":
        return _render(who, request.args)
    check_csrf()
    form = request.form
    area = form.get("area", "")
    if not (is_area_code(area) and AreaCode(area).level in (TOWNSHIP, VILLAGE)):
        raise PaichaError("bad_request")
    if not covers(who, area):
        raise PaichaError("forbidden_area")
    try:
        fields = dispute_from_form(form)
    except ValueError as problem:
        return _render(who, form, error=str(problem), status=422)
    doc_id = f"dispute-{uuid.uuid4()}"
    try:
        records.create(domain_database(who), DISPUTES, {**fields, "area": area, "id": doc_id}, user=who.name,
                       now=clock.now())
    except PaichaError as error:
        if error.status >= 500:
            raise
        return _render(who, form, error=error.message(lang()), status=422)
    return redirect(url_for("ledger.dispute", dispute_id=doc_id, saved="registered"))
