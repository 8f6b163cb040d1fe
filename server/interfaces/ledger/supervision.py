"""The supervision loop's pages (督办): issue a notice, the notices of an area with their counts per
child area, and one notice with its chases and replies, its supervisor's forms (chase, close,
withdraw) and the township's reply form. Reads from the read model (`services.ledger.notices`);
writes through `services.supervision`, under the same write rules as a phone.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math

from flask import redirect, render_template, request, url_for

from schemas.areas import DISTRICT, LENGTH, TOWNSHIP, VILLAGE, AreaCode, is_area_code
from schemas.errors import PaichaError
from schemas.vocabulary import NOTICE_ISSUED, NOTICE_KINDS, NOTICE_METHODS, NOTICE_PRIORITIES, NOTICE_STATES

from sync import errors

from server.core import clock
from server.core.access import domain_database
from server.services import file_access, supervision
from server.services.calendar.periods import parse_timestamp
from server.services.collections import NOTICES
from server.services.ledger import areas as ledger_areas, notices as notice_queries, windows
from server.interfaces.ledger.i18n import lang, t
from server.interfaces.ledger.security import area_in_scope, check_csrf, covers, viewer, writer
from server.interfaces.ledger import area_picker
from server.interfaces.ledger.sorting import sort_of
from server.interfaces.ledger.views import _choice, _doc_id, _page, bp, page_size, past_the_end
from server.interfaces.ledger.writes import write

REPLY_ROLES = ("township_staff", "admin")
TEXT_LIMIT = supervision.TEXT_LIMIT



def _form_choice(form, name: str, allowed, default: str | None = None) -> str | None:
    value = form.get(name) or default
    if value is not None and value not in allowed:
        raise PaichaError("bad_request")
    return value


# -- issue ---------------------------------------------------------------------------------------------------

def _render_issue(who, target: str, form, *, saved=None, error=None, deadline=None, status=200):
    return render_template("notice.html", target=target, form=form, saved=saved, error=error,
                           targets=area_picker.targets(who.scope or ""), kinds=NOTICE_KINDS, priorities=NOTICE_PRIORITIES,
                           methods=NOTICE_METHODS,
                           default_deadline=deadline or (windows.today() + dt.timedelta(days=7)).isoformat()), status


@bp.route("/notice", methods=["GET", "POST"])
def notice():
    who = writer()
    database = domain_database(who)
    if request.method == "GET":
        return _render_issue(who, area_in_scope(who, request.args.get("area")), request.args)
    check_csrf()
    form = request.form
    target = form.get("target_area", "")
    if not covers(who, target) or not (is_area_code(target) and AreaCode(target).level in (TOWNSHIP, VILLAGE)):
        area_in_scope(who, target or "x")  # 400 / 403
        raise PaichaError("bad_request")
    fields = {"area": target, "target_area": target, "subject": form.get("subject", "").strip()[:200],
              "body": form.get("body", "").strip()[:4000], "deadline": form.get("deadline", ""),
              "issued_by": (form.get("issued_by") or "").strip()[:200] or who.name, "status": NOTICE_ISSUED,
              "kind": _form_choice(form, "kind", NOTICE_KINDS, NOTICE_KINDS[0]),
              "priority": _form_choice(form, "priority", NOTICE_PRIORITIES, NOTICE_PRIORITIES[0]),
              "method": _form_choice(form, "method", NOTICE_METHODS, NOTICE_METHODS[0])}
    for key in ("dispute_id", "report_id", "round_id"):
        if form.get(key):
            fields[key] = form[key][:255]
    doc_id = supervision.new_notice_id()
    problem = write(database, NOTICES, doc_id, fields, who, clock.now())
    if problem:
        return _render_issue(who, target, form, error=problem, deadline=fields["deadline"], status=422)
    return _render_issue(who, target, {}, saved=doc_id, deadline=fields["deadline"])


# -- the notices of an area ----------------------------------------------------------------------------------

def _child_length(area: str) -> int:
    """The code length of the areas a count table breaks `area` into (the districts for everything)."""
    return min(len(area) + 3, LENGTH[VILLAGE]) if area else LENGTH[DISTRICT]


@bp.get("/notices")
def notices():
    who = viewer()
    area = area_in_scope(who, request.args.get("area"))
    state = _choice("state", NOTICE_STATES + (notice_queries.OPEN,))
    kind = _choice("kind", NOTICE_KINDS)
    exact = request.args.get("own") == "1"
    database = domain_database(who)
    today = windows.today()
    page, size = _page(), page_size()
    total = notice_queries.notice_count(database, area, today, state=state, kind=kind, exact=exact)
    past_the_end(page, max(1, math.ceil(total / size)))
    order = sort_of(notice_queries.SORT_KEYS, "created", descending=True)
    rows = notice_queries.notice_page(database, area, today, state=state, kind=kind, exact=exact,
                                      sort=order.key, descending=order.descending,
                                      offset=(page - 1) * size, limit=size)
    subjects = file_access.mask_about_matters(database, who, [(r.dispute_id, r.subject) for r in rows])
    rows = [dataclasses.replace(r, subject=subject) for r, subject in zip(rows, subjects)]
    child_length = _child_length(area)
    counts = notice_queries.counts_by_area(database, area, today, child_length, kind=kind)
    children = [(code, name) for code, name, _ in ledger_areas.under(area) if len(code) == child_length]
    return render_template("notices.html", area=area, rows=rows, total=total, page=page,
                           pages=max(1, math.ceil(total / size)), state=state, kind=kind, exact=exact,
                           states=NOTICE_STATES + (notice_queries.OPEN,), kinds=NOTICE_KINDS, counted=notice_queries.COUNTED_STATES,
                           own_counts=counts.get(area) if len(area) < child_length else None,
                           children=[(code, name, counts.get(code)) for code, name in children],
                           order=order, areas=area_picker.options(who.scope or ""))


# -- one notice ----------------------------------------------------------------------------------------------

def _timeline(doc: dict, replies: list[dict]) -> list[dict]:
    """Everything that happened to the notice, in time order: issued, each chase, each reply, closed
    or withdrawn."""
    events = [{"at": doc.get("created_at"), "what": "ev_issued", "by": doc.get("created_by"),
               "method": doc.get("method"), "text": doc.get("subject")}]
    events += [{"at": c.get("at"), "what": "ev_chase", "by": c.get("by"), "method": c.get("method"),
                "text": c.get("note")} for c in doc.get("chases") or []]
    events += [{"at": r.get("replied_at"), "what": "ev_reply", "by": r.get("created_by"), "method": None,
                "text": r.get("body"), "late": notice_queries.late(doc.get("deadline"), _moment(r.get("replied_at")))}
               for r in replies]
    if doc.get("status") == "closed":
        events.append({"at": doc.get("closed_at"), "what": "ev_closed", "by": doc.get("updated_by"),
                       "method": None, "text": doc.get("close_note")})
    elif doc.get("status") == "withdrawn":
        events.append({"at": doc.get("updated_at"), "what": "ev_withdrawn", "by": doc.get("updated_by"),
                       "method": None, "text": doc.get("withdraw_reason")})
    # stable: events of the same moment keep the order above
    return sorted(events, key=lambda e: _moment(e["at"]) or dt.datetime.max.replace(tzinfo=dt.timezone.utc))


def _moment(text) -> dt.datetime | None:
    moment = parse_timestamp(text) if isinstance(text, str) else None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.SHANGHAI)
    return moment


def _render_notice(who, database, doc: dict, *, message=None, error=None, status=200):
    replies = []
    for reply_id in notice_queries.reply_ids(database, doc["_id"], doc["area"]):
        try:
            replies.append(database.get(reply_id))
        except errors.NotFound:  # deleted meanwhile: not shown
            continue
    row = notice_queries.notice_state(database, doc["_id"], windows.today())
    is_open = doc.get("status") == NOTICE_ISSUED
    about = doc.get("dispute_id")
    doc, *replies = file_access.mask_about_matters(database, who, [(about, doc)] + [(about, r) for r in replies])
    return render_template(
        "notice_file.html", doc=doc, row=row, timeline=_timeline(doc, replies), replies=replies,
        methods=NOTICE_METHODS, message=message, error=error,
        can_supervise=is_open and who.role in ("district_supervisor", "admin"),
        can_reply=is_open and who.role in REPLY_ROLES and covers(who, doc.get("area"))), status


@bp.get("/notice/<path:notice_id>")
def notice_file(notice_id):
    who = viewer()
    database = domain_database(who)
    doc = _notice(database, notice_id)
    saved = request.args.get("saved")
    message = t(f"saved_{saved}") if saved in ("chase", "close", "withdraw", "reply") else None
    return _render_notice(who, database, doc, message=message)


def _notice(database, notice_id: str) -> dict:
    try:
        return supervision.read_notice(database, _doc_id(notice_id))
    except PaichaError as error:
        if error.code == "record_not_found":
            raise PaichaError("missing") from None
        raise


def _text(name: str) -> str:
    return (request.form.get(name) or "").strip()


def _done(notice_id: str, what: str):
    return redirect(url_for("ledger.notice_file", notice_id=notice_id, saved=what))


def _refused(who, database, notice_id: str, error: PaichaError):
    """A write the rules or the store refused: the notice again, with why (a closed notice's 409 too)."""
    doc = _notice(database, notice_id)
    return _render_notice(who, database, doc, error=error.message(lang()),
                          status=error.status if error.status == 409 else 422)


@bp.post("/notice/<path:notice_id>/chase")
def chase_notice(notice_id):
    check_csrf()
    who = writer()
    database = domain_database(who)
    method = _form_choice(request.form, "method", NOTICE_METHODS)
    if method is None:
        raise PaichaError("bad_request")
    note = _text("note")
    if len(note) > TEXT_LIMIT:
        return _render_notice(who, database, _notice(database, notice_id), error=t("text_too_long"), status=422)
    try:
        supervision.chase(database, _doc_id(notice_id), method=method, note=note, user=who.name, now=clock.now())
    except PaichaError as error:
        if error.code == "record_not_found":
            raise PaichaError("missing") from None
        return _refused(who, database, notice_id, error)
    return _done(notice_id, "chase")


@bp.post("/notice/<path:notice_id>/close")
def close_notice(notice_id):
    check_csrf()
    who = writer()
    database = domain_database(who)
    note = _text("close_note")
    if len(note) > TEXT_LIMIT:
        return _render_notice(who, database, _notice(database, notice_id), error=t("text_too_long"), status=422)
    try:
        supervision.close(database, _doc_id(notice_id), note=note, user=who.name, now=clock.now())
    except PaichaError as error:
        if error.code == "record_not_found":
            raise PaichaError("missing") from None
        return _refused(who, database, notice_id, error)
    return _done(notice_id, "close")


@bp.post("/notice/<path:notice_id>/withdraw")
def withdraw_notice(notice_id):
    check_csrf()
    who = writer()
    database = domain_database(who)
    reason = _text("withdraw_reason")
    if not reason or len(reason) > TEXT_LIMIT:
        return _render_notice(who, database, _notice(database, notice_id),
                              error=t("withdraw_reason_required" if not reason else "text_too_long"), status=422)
    try:
        supervision.withdraw(database, _doc_id(notice_id), reason=reason, user=who.name, now=clock.now())
    except PaichaError as error:
        if error.code == "record_not_found":
            raise PaichaError("missing") from None
        return _refused(who, database, notice_id, error)
    return _done(notice_id, "withdraw")


@bp.post("/notice/<path:notice_id>/reply")
def reply_notice(notice_id):
    check_csrf()
    who = viewer()
    if who.role not in REPLY_ROLES:
        raise PaichaError("forbidden_write")
    database = domain_database(who)
    body = _text("body")
    if not body or len(body) > TEXT_LIMIT:
        return _render_notice(who, database, _notice(database, notice_id),
                              error=t("reply_required" if not body else "text_too_long"), status=422)
    try:
        supervision.reply(database, _doc_id(notice_id), body=body, user=who.name, now=clock.now())
    except PaichaError as error:
        if error.code == "record_not_found":
            raise PaichaError("missing") from None
        return _refused(who, database, notice_id, error)
    return _done(notice_id, "reply")
