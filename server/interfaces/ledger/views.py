"""The ledger pages (blueprint `ledger`, under /ledger/)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from schemas.areas import DISTRICT, LENGTH, TOWNSHIP, VILLAGE, AreaCode, is_area_code
from schemas.errors import REFUSALS, PaichaError
from schemas.vocabulary import (MATTER_STAGES, DISPUTE_CATEGORIES, DISPUTE_STATUSES, REVIEW_STATES, REVIEW_STATUSES, RISK_LEVELS,
                                ROUND_LEVELS)
from sync import errors

from server.services import audit, file_access, privacy
from server.core.auth import COOKIE, check_credentials, end_session, set_session_cookie
from server.core import clock
from server.core.clock import SHANGHAI
from server.core.access import domain_database
from server.services.calendar.periods import parse_timestamp, stamp
from server.services import reviews
from server.services.calendar.status import LATE, MISSED, MISSING, OPEN, OVERDUE, ON_TIME, STATUSES
from server.interfaces.ledger import area_picker, charts, dispute_filters, exports, matter_file
from server.services.ledger import accounts as ledger_accounts, areas as ledger_areas, disputes as dispute_queries
from server.services.ledger import metrics, notices as notice_queries, rounds as round_queries, windows
from server.services.ledger import people as ledger_people, visits as visit_queries
from server.services.ledger import room as room_figures
from server.services.matters import figures as matter_figures, queries as matter_queries
from server.interfaces.ledger.i18n import lang, remember, t, word
from server.interfaces.ledger.sorting import sort_of
from server.interfaces.ledger.writes import write
from server.services.collections import REVIEWS
from server.interfaces.ledger.security import (
    CSRF_COOKIE,
    LoginRequired,
    area_in_scope,
    check_csrf,
    csrf_token,
    may_file,
    set_csrf_cookie,
    viewer,
    writer,
)

bp = Blueprint("ledger", __name__, url_prefix="/ledger", template_folder="templates",
               static_folder="static", static_url_path="/static")

#: Who sees the log of openings (访问记录): the district, and administrators.
LOG_ROLES = ("district_supervisor", "admin")
STATUS_ORDER = (ON_TIME, LATE, OPEN, OVERDUE, MISSED, MISSING)
KEY_DISPUTES_SHOWN = 10
FLAGGED_VISITS_SHOWN = 10
NOTICES_SHOWN = 3  # the dashboard's latest notices (a township's dashboard stays within three screens); the notices page has them all
QUARTER_KEY_PAGE = 25  # key disputes a page of the quarterly round-up (one printed A4 page)  # the dashboard's latest; the map shows them all
COMMENT_LIMIT = 4000


# -- plumbing ----------------------------------------------------------------------------------------------

@bp.context_processor
def _globals():
    return {"t": t, "word": word, "lang": lang(), "csrf_token": csrf_token, "me": g.get("principal"),
            "area_name": _area_name, "person": person, "person_name": person_name,
            "fmt_time": fmt_time, "pct": pct, "url_with": url_with, "STATUS_ORDER": STATUS_ORDER,
            "refusal_words": _refusal_words}


def _refusal_words(refusal) -> str:
    """Why a step does not count, in the page's language (the catalogue's words for its refusal)."""
    entry = REFUSALS.get(refusal.code)
    return entry.detail_zh if entry and lang() == "zh" else refusal.reason


@bp.after_request
def _after(response):
    response = set_csrf_cookie(remember(response))
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                "frame-ancestors 'none'; form-action 'self'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.errorhandler(LoginRequired)
def _login_required(_exc):
    return redirect(url_for("ledger.login", next=request.full_path if request.query_string else request.path))


@bp.errorhandler(PaichaError)
def _error_page(error: PaichaError):
    """Any error of the catalogue, the store's among them: a page with its status and its sentence
    in the page's language."""
    return render_template("error.html", code=error.status, message=error.message(lang())), error.status


# Werkzeug's own (no such page, a form it cannot read): the catalogue's error of that status.
_HTTP_ERRORS = {400: "bad_request", 403: "forbidden", 404: "missing"}


@bp.errorhandler(HTTPException)
def _http_error(exc):
    code = _HTTP_ERRORS.get(exc.code)
    if code is not None:
        return _error_page(PaichaError(code))
    return render_template("error.html", code=exc.code, message=t("error")), exc.code


def _area_name(code: str | None) -> str:
    """An area's name for the templates; looked up once per request (a page names many areas)."""
    if not code:
        return t("district")
    cache = g.setdefault("_paicha_area_names", {})
    if code not in cache:
        if is_area_code(code):  # one query for the whole district (a page names many of its areas)
            cache.update({c: n for c, n, _ in ledger_areas.under(AreaCode(code).at(DISTRICT))})
        cache.setdefault(code, code)
    return cache[code]


def person_name(account: str | None) -> str:
    """The display name of the account id a document records, or the id itself when the store has
    no name for it; the names of the viewer's district are read once per request."""
    if not account:
        return ""
    names = g.get("_paicha_people")
    if names is None:
        who = g.get("principal")
        names = g._paicha_people = ledger_people.display_names(who.scope if who else "")
    return names.get(str(account), str(account))


def person(account: str | None) -> Markup:
    """A person on a page: the name, with the account id in its tooltip."""
    if not account:
        return Markup("")
    name = person_name(account)
    if name == str(account):
        return Markup('<span class="person">{}</span>').format(name)
    return Markup('<span class="person" title="{}">{}</span>').format(account, name)


def fmt_time(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        parsed = parse_timestamp(value)
        if parsed is None:
            return value
        value = parsed
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    return str(value)


def pct(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def url_with(**changes) -> str:
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def _date(name: str, default: dt.date) -> dt.date:
    """A YYYY-MM-DD query parameter in the years the ledger covers (1900 to 2100)."""
    value = request.args.get(name)
    if not value:
        return default
    day = windows.parse_day(value)
    if day is None:
        raise PaichaError("bad_date", name=name)
    return day


def _window(default_days: int) -> tuple[dt.date, dt.date]:
    until = _date("until", windows.today())
    since = _date("since", until - dt.timedelta(days=default_days))
    if since > until or (until - since).days > 800:
        raise PaichaError("bad_window")
    return since, until


def past_the_end(page: int, pages: int) -> None:
    """A page after the last is sent to the last one (a bookmark kept while the list shrank)."""
    if page > pages:
        abort(redirect(url_with(page=pages)))


def _page() -> int:
    value = request.args.get("page", "1")
    if not (value.isascii() and value.isdigit() and len(value) <= 6 and 1 <= int(value) <= 100000):
        raise PaichaError("bad_page", name="page")
    return int(value)


def _choice(name: str, allowed) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        raise PaichaError("bad_request")
    return value


def page_size() -> int:
    return current_app.config["PAICHA_LEDGER_PAGE_SIZE"]


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/ledger") and not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("ledger.dashboard")


# -- login -------------------------------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        check_csrf()
        name, password = request.form.get("name", ""), request.form.get("password", "")
        try:
            if not (0 < len(name) <= 100 and name.isprintable() and len(password) <= 1000):
                # no account has such a name; a NUL would not even reach PostgreSQL
                raise errors.InvalidCredentials()
            who = check_credentials(name, password)
        except errors.CouchError as refused:  # a wrong password, a locked account, ...
            error = refused.message(lang())
        else:
            if who.role not in ("township_staff", "district_supervisor", "admin"):
                raise PaichaError("forbidden_role")
            return set_session_cookie(redirect(_safe_next(request.form.get("next"))), who)
    status = 401 if error else 200
    return render_template("login.html", error=error, next=request.values.get("next", "")), status


@bp.post("/logout")
def logout():
    check_csrf()
    end_session()  # on the server: the same cookie, copied elsewhere, no longer logs anyone in
    response = redirect(url_for("ledger.login"))
    response.delete_cookie(COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response


# -- dashboard ---------------------------------------------------------------------------------------------

@bp.get("/")
def dashboard():
    who = viewer()
    area = area_in_scope(who, request.args.get("area"))
    since, until = _window(current_app.config["PAICHA_LEDGER_DASHBOARD_DAYS"])
    database = domain_database(who)
    summary = round_queries.rollup(round_queries.status_counts(area, since, until, due_in_window=True), area)
    shown = _area_and_children(area, summary)
    townships = [s for s in shown if s["level"] == "township"]
    villages = [s for s in shown if s["level"] == "village"]
    stale_days = current_app.config["PAICHA_LEDGER_STALE_DAYS"]
    return render_template(
        "dashboard.html", area=area, since=since, until=until, townships=townships, villages=villages,
        # the children's bars (the area's own is their sum, and would dwarf them)
        chart=charts.stacked_bars([s for s in shown if s["area"] != area] or shown, STATUS_ORDER, t),
        matrix=dispute_queries.open_dispute_matrix(database, area), risks=RISK_LEVELS,
        key_disputes=_numbered(database, file_access.mask_rows(database, who, dispute_queries.dispute_list(
            database, area, open_only=True, key_only=True, limit=KEY_DISPUTES_SHOWN))),
        key_total=dispute_queries.open_key_count(database, area),
        stale=ledger_accounts.stale_accounts(area, stale_days), stale_days=stale_days,
        coverage=_coverage_by_child(area, visit_queries.coverage(area, since, until), _child_level(area)), flagged=visit_queries.flagged_visits(area, since, until, FLAGGED_VISITS_SHOWN),
        notices=notice_queries.notice_page(database, area, windows.today(), limit=NOTICES_SHOWN),
        notices_total=notice_queries.notice_count(database, area, windows.today()))


def _numbered(database, rows: list[dict]) -> list[dict]:
    """Disputes with their registration numbers (the number a list shows and links) and stages."""
    ids = [r["id"] for r in rows]
    numbers, stages = matter_queries.numbers_of(database, ids), matter_queries.stages_of(database, ids)
    return [dict(r, number=numbers.get(r["id"]), stage=stages.get(r["id"])) for r in rows]


def _area_and_children(area: str, summary: list[dict]) -> list[dict]:
    """The rows of the area itself and its children (a district's townships, a township's villages):
    the rest is a click away, not one long table."""
    child_level = _child_level(area)
    return [s for s in summary if s["area"] == area or s["level"] == child_level]


def _child_level(area: str) -> str:
    return (AreaCode(area).child_level or VILLAGE) if area else TOWNSHIP


def _coverage_by_child(area: str, villages: list[dict], child_level: str) -> list[dict]:
    """Visit coverage one row per child area (a district's townships, a township's villages): a
    district's 300 villages are a township's click away, not one long table."""
    if child_level == VILLAGE:
        return villages
    length = LENGTH[child_level]
    rows: dict[str, dict] = {}
    for v in villages:
        code = v["area"][:length]
        row = rows.setdefault(code, {"area": code, "name": _area_name(code), "households": 0,
                                     "households_visited": 0, "visits": 0, "visits_flagged": 0, "drill": True})
        for key in ("households", "households_visited", "visits", "visits_flagged"):
            row[key] += v.get(key) or 0
    return [rows[c] for c in sorted(rows)]


# -- the ledger (台账) --------------------------------------------------------------------------------------

def _ledger_filters(who) -> dict:
    area = area_in_scope(who, request.args.get("area"))
    since, until = _window(current_app.config["PAICHA_LEDGER_DAYS"])
    level = _choice("level", ROUND_LEVELS)
    status = _choice("status", STATUSES + ("not_submitted", round_queries.DUE))
    review = _choice("review", REVIEW_STATES + ("none",))
    due = _choice("due", ("window",))  # only the rounds due in the window (the figures' records)
    return {"area": area, "since": since, "until": until, "level": level, "status": status, "review": review,
            "due": due}


def _where_filters(filters: dict) -> dict:
    """Which rounds the ledger's filters keep (for counting them and reading them)."""
    return {**{k: filters[k] for k in ("level", "status", "review")}, "due_in_window": filters["due"] == "window"}


def _row_filters(filters: dict) -> dict:
    order = sort_of(round_queries.SORT_KEYS, "period", descending=True)
    return {**_where_filters(filters), "sort": order.key, "descending": order.descending}


_FILTER_ARGS = ("area", "since", "until", "level", "status", "review", "due", "sort", "dir")
WORDS_OF_FILTER = {"level": "lvl_", "status": "", "review": "", "due": "due_"}


@bp.get("/ledger")
def ledger():
    """One page of rounds: counted, filtered, sorted and cut in SQL (`calendar_rounds`)."""
    who = viewer()
    filters = _ledger_filters(who)
    page, size = _page(), page_size()
    args = (filters["area"], filters["since"], filters["until"])
    total = round_queries.round_count(*args, **_where_filters(filters))
    pages = max(1, math.ceil(total / size))
    past_the_end(page, pages)
    shown = round_queries.round_rows(*args, offset=(page - 1) * size, limit=size, **_row_filters(filters))
    child_level = AreaCode(filters["area"]).child_level if filters["area"] else DISTRICT
    counts = round_queries.round_counts_by_child(*args, LENGTH[child_level], **_where_filters(filters)) \
        if child_level else {}
    # each child area with its rounds of these filters, a click to the same page for it
    children = [(c, n, counts.get(c, 0)) for c, n, lvl in ledger_areas.under(filters["area"]) if lvl == child_level]
    return render_template("ledger.html", rows=shown, total=total, page=page, pages=pages,
                           filters=filters, children=children, statuses=STATUSES,
                           order=sort_of(round_queries.SORT_KEYS, "period", descending=True), areas=area_picker.options(who.scope or ""),
                           can_file=lambda area: may_file(who, area),
                           export_args={k: v for k, v in request.args.items() if k in _FILTER_ARGS},
                           review_statuses=REVIEW_STATES)


@bp.get("/ledger.<fmt>")
def ledger_export(fmt):
    """Every row of the ledger view (up to PAICHA_LEDGER_EXPORT_ROWS), streamed as it is read."""
    who = viewer()
    if fmt not in ("xlsx", "csv"):
        raise PaichaError("missing")
    filters = _ledger_filters(who)
    rows = round_queries.iter_round_rows(filters["area"], filters["since"], filters["until"],
                                   limit=current_app.config["PAICHA_LEDGER_EXPORT_ROWS"], **_row_filters(filters))
    stem = f"ledger-{filters['area'] or 'all'}-{filters['since']}-{filters['until']}"
    if fmt == "xlsx":
        labels = {"area": t("area"), "since": t("period_from"), "until": t("period_to"), "level": t("level"),
                  "status": t("status"), "review": t("review"), "due": t("due")}
        shown = {"__title_label__": t("export_title"), **{k: (word(WORDS_OF_FILTER.get(k, ""), v) if v else v)
                                                          for k, v in filters.items()}}
        body = exports.to_xlsx(rows, t("ledger"), shown, word=word, filter_labels=labels,
                               sheet=t("ledger"), filters_sheet=t("export_filters"))
    else:
        body = exports.csv_chunks(rows)
    return exports.streamed(body, fmt, stem)


# -- one report and its review -------------------------------------------------------------------------------

_DOC_ID = re.compile(r"[^\x00-\x1f\x7f]{1,255}")


def _doc_id(value: str) -> str:
    """An id (or attachment name) from the URL that a document could have; else 404. A NUL never
    reaches the database (PostgreSQL refuses it in text: that was a 500)."""
    if not _DOC_ID.fullmatch(value):
        raise PaichaError("missing")
    return value


def document_of_type(database, doc_id: str, doc_type: str) -> dict:
    """The document the URL names if the reader may see it and it is of `doc_type`; else 404."""
    try:
        doc = database.get(_doc_id(doc_id))
    except errors.NotFound:
        raise PaichaError("missing")
    if doc.get("type") != doc_type:
        raise PaichaError("missing")
    return doc


def _report(database, report_id: str) -> dict:
    return document_of_type(database, report_id, "screening_report")




@bp.get("/report/<path:report_id>")
def report(report_id):
    who = viewer()
    database = domain_database(who)
    message = t("review_saved") if request.args.get("saved") == "1" else None
    return _render_report(who, database, _report(database, report_id), message=message)


def _render_report(who, database, doc, *, message=None, error=None, status=200, comment=None):
    round_doc = None
    if doc.get("round_id"):
        try:
            round_doc = database.get(doc["round_id"])
        except errors.NotFound:
            round_doc = None
    disputes = []
    for dispute_id in (doc.get("disputes") or [])[:200]:
        try:
            disputes.append(database.get(dispute_id))
        except errors.NotFound:
            disputes.append({"_id": dispute_id, "missing": True})
    # their summaries may quote the parties: masked for a viewer who does not handle them (a list, not an opening)
    whole = file_access.handled(database, who, [d for d in disputes if not d.get("missing")])
    disputes = [d if d.get("missing") or whole[d["_id"]] else privacy.masked_matter(d) for d in disputes]
    db_name = current_app.config["PAICHA_DOMAIN_DB"]
    history = audit.history(db_name, doc["_id"])
    trail = reviews.trail(database, doc["_id"])
    with database.store.reading() as conn:
        review_state = reviews.state(conn, db_name, doc["_id"])
    return render_template("report.html", doc=doc, round_doc=round_doc, disputes=disputes,
                           review=trail[-1] if trail else None, trail=trail, review_state=review_state,
                           history=history, review_statuses=REVIEW_STATUSES, message=message, error=error,
                           kept_comment=comment,  # what was typed comes back with the error, never lost
                           can_write=who.role in ("district_supervisor", "admin")), status


@bp.post("/report/<path:report_id>/review")
def save_review(report_id):
    check_csrf()
    who = writer()
    database = domain_database(who)
    doc = _report(database, report_id)
    status = request.form.get("status")
    comment = (request.form.get("comment") or "").strip()
    if status not in REVIEW_STATUSES:
        raise PaichaError("bad_request")
    if status in ("has_issues", "sent_back") and not comment:
        return _render_report(who, database, doc, error=t("comment_required"), status=422)
    if len(comment) > COMMENT_LIMIT:  # said, not cut short without a word
        return _render_report(who, database, doc, error=t("comment_too_long", limit=COMMENT_LIMIT, n=len(comment)),
                              status=422, comment=comment)
    now = clock.now()
    fields = {"area": doc["area"], "report_id": doc["_id"], "status": status, "reviewed_at": stamp(now)}
    if doc.get("round_id"):
        fields["round_id"] = doc["round_id"]
    if comment:
        fields["comment"] = comment

    problem = write(database, REVIEWS, reviews.new_review_id(doc["_id"], now), fields, who, now)
    if problem:
        return _render_report(who, database, doc, error=problem, status=422)
    return redirect(url_for("ledger.report", report_id=report_id, saved="1"))


# -- disputes ------------------------------------------------------------------------------------------------

@bp.get("/disputes")
def disputes():
    who = viewer()
    area = area_in_scope(who, request.args.get("area"))
    database = domain_database(who)
    metric = _choice("metric", metrics.DISPUTE_METRICS)
    figure = _choice("figure", matter_figures.KEYS)
    page, size = _page(), page_size()
    filters = order = total = pages = None
    if figure:
        part = _choice("part", matter_figures.PARTS) or "den"
        since, until = _window(current_app.config["PAICHA_LEDGER_DAYS"])
        members = matter_figures.members(database, area, figure, since, until, clock.today(), part=part,
                                         offset=(page - 1) * size, limit=size + 1)
        rows = [dict(f, counts=ok) for f, ok in members]
        metric = figure
    elif metric:
        since, until = _window(current_app.config["PAICHA_LEDGER_DAYS"])
        members = metrics.dispute_members(database, area, metric, since, until,
                                          accept_days=current_app.config["PAICHA_LEDGER_ACCEPT_DAYS"],
                                          resolve_days=current_app.config["PAICHA_LEDGER_RESOLVE_DAYS"],
                                          offset=(page - 1) * size, limit=size + 1)
        rows = [dict(f, counts=ok) for f, ok in members]
    elif request.args.get("room"):  # the disputes a number of the supervision room counts
        metric = _choice("room", room_figures.DISPUTE_KEYS)
        rows = [dict(f, counts=True) for f in room_figures.members(
            database, area, metric, clock.today(), collective_people=current_app.config["PAICHA_MATTER_COLLECTIVE_PEOPLE"],
            offset=(page - 1) * size, limit=size + 1)]
    else:  # the list's own filter form: every filter at once, in the order asked
        filters, order = dispute_filters.matter_filters(), dispute_filters.matter_sort()
        total = matter_queries.count_matters(database, area, filters)
        pages = max(1, math.ceil(total / size))
        past_the_end(page, pages)
        rows = matter_queries.filtered_matters(database, area, filters, sort=order.key, descending=order.descending,
                                               offset=(page - 1) * size, limit=size + 1)
    more = len(rows) > size
    rows = file_access.mask_rows(database, who, rows[:size])
    ids = [r["id"] for r in rows]
    numbers, stages = matter_queries.numbers_of(database, ids), matter_queries.stages_of(database, ids)
    rows = [dict(r, number=numbers.get(r["id"]), stage=stages.get(r["id"])) for r in rows]
    title = (matter_figures.BY_KEY[figure].name if figure else
             room_figures.words(room_figures.BY_KEY[metric], lang(), days=0, stale_days=0, collective_people=0)[0]
             if metric in room_figures.BY_KEY else (t(metric) if metric else None))
    return render_template("disputes.html", area=area, rows=rows, page=page, more=more, metric=metric,
                           title=title, part=request.args.get("part") if figure else None, stages=MATTER_STAGES,
                           statuses=DISPUTE_STATUSES, risks=RISK_LEVELS, categories=DISPUTE_CATEGORIES,
                           filters=filters, order=order, kept=dispute_filters.kept_args(), total=total, pages=pages,
                           areas=area_picker.options(who.scope or ""))


@bp.get("/dispute/<path:dispute_id>")
def dispute(dispute_id):
    who = viewer()
    message = {"step": t("saved_step"), "registered": t("saved_registered")}.get(request.args.get("saved") or "")
    return render_dispute(who, domain_database(who), _doc_id(dispute_id), message=message)


def render_dispute(who, database, dispute_id: str, *, message=None, error=None, status=200):
    try:
        doc = database.get(dispute_id, conflicts=True, revs_info=True)
    except errors.NotFound:
        raise PaichaError("missing")
    if doc.get("type") != "dispute":
        raise PaichaError("missing")
    entries = audit.history(current_app.config["PAICHA_DOMAIN_DB"], dispute_id)[-200:]
    revisions, previous = [], {}
    for entry in entries:
        try:
            body = database.get(dispute_id, rev=entry.rev)
        except errors.NotFound:
            body = None
        own = {k: v for k, v in (body or {}).items() if not k.startswith("_")}
        changed = sorted(k for k in set(own) | set(previous) if own.get(k) != previous.get(k))
        revisions.append({"entry": entry, "changed": changed, "status": own.get("status"),
                          "risk": own.get("risk_level"), "deleted": entry.deleted})
        previous = own
    notices = notice_queries.notices_of_dispute(database, doc["_id"], windows.today())
    matter = matter_file.matter_context(who, database, doc, notices)
    # the one write of this page: the opening, logged (with whether the parties were shown whole)
    secrets = privacy.secrets_of(doc)
    doc, whole = file_access.open_file(database, who, doc, file_access.LEDGER_PAGE)
    if not whole:  # what the steps and the notices quote of the parties, masked too
        notices = [dataclasses.replace(n, subject=privacy.mask_text(n.subject, secrets)) for n in notices]
        for event in matter["events"]:
            for key in ("step", "notice"):
                if isinstance(event.get(key), dict):
                    event[key] = privacy.mask_strings(event[key], secrets)
                elif event.get(key) is not None:
                    event[key] = dataclasses.replace(event[key], subject=privacy.mask_text(event[key].subject, secrets))
    return render_template("dispute.html", doc=doc, revisions=revisions, notices=notices, whole=whole,
                           revs_info=doc.get("_revs_info", []), conflicts=doc.get("_conflicts", []),
                           photos=sorted((doc.get("_attachments") or {}).items()),
                           can_write=who.role in ("district_supervisor", "admin"),
                           matter=matter,
                           openings=(file_access.openings(current_app.config["PAICHA_DOMAIN_DB"], who.scope or "",
                                                          matter_id=doc["_id"], limit=20)
                                     if who.role in LOG_ROLES else None),
                           message=message, error=error), status


@bp.get("/doc/<path:doc_id>/attachment/<name>")
def attachment(doc_id, name):
    """A photo (or other attachment) of a document in the viewer's scope; else 404."""
    who = viewer()
    database = domain_database(who)
    try:
        stub, data = database.get_attachment(_doc_id(doc_id), _doc_id(name))
    except (errors.NotFound, errors.CouchError):
        raise PaichaError("missing")
    content_type = stub.get("content_type") or "application/octet-stream"
    image = content_type in ("image/jpeg", "image/png", "image/webp", "image/gif")
    response = Response(data, mimetype=content_type if image else "application/octet-stream")
    response.headers["Content-Disposition"] = "inline" if image else "attachment"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# -- quarterly round-up, figures, map -----------------------------------------------------------------------

@bp.get("/quarterly")
def quarterly():
    who = viewer()
    area = area_in_scope(who, request.args.get("area"))
    try:
        label, start, end = windows.quarter_bounds(request.args.get("quarter"))
    except ValueError:
        raise PaichaError("bad_quarter", name="quarter")
    database = domain_database(who)
    # key disputes registered or resolved in the quarter, or still open at its end
    key = file_access.mask_rows(database, who, dispute_queries.dispute_facts(
        database, area, start, end, key_only=True, open_before=end))
    summary = _area_and_children(area, round_queries.rollup(
        round_queries.status_counts(area, start, min(end, windows.today()), due_in_window=True), area))
    page, size = _page(), QUARTER_KEY_PAGE
    if request.args.get("all") == "1":  # the printed round-up: every key dispute, on one page
        page, size = 1, max(1, len(key))
    pages = max(1, -(-len(key) // size))
    page = min(page, pages)
    return render_template("quarterly.html", area=area, label=label, start=start, end=end,
                           key=_numbered(database, key[(page - 1) * size:page * size]), key_total=len(key),
                           page=page, pages=pages,
                           summary=summary, matrix=dispute_queries.open_dispute_matrix(database, area), risks=RISK_LEVELS)


@bp.get("/figures")
def figures():
    who = viewer()
    area = area_in_scope(who, request.args.get("area"))
    since, until = _window(current_app.config["PAICHA_LEDGER_DAYS"])
    database = domain_database(who)
    data = metrics.figures(database, area, since, until,
                           accept_days=current_app.config["PAICHA_LEDGER_ACCEPT_DAYS"],
                           resolve_days=current_app.config["PAICHA_LEDGER_RESOLVE_DAYS"])
    chart = charts.trend_lines([(m, v["on_time_rate"]) for m, v in data["trend"]])
    matters = matter_figures.report(database, area, since, until, clock.today(),
                                    accept_days=current_app.config["PAICHA_MATTER_ACCEPT_DAYS"],
                                    handle_days=current_app.config["PAICHA_MATTER_HANDLE_DAYS"])
    return render_template("figures.html", area=area, since=since, until=until, data=data, chart=chart,
                           matters=matters)


@bp.get("/map")
def visit_map():
    """Visits and village boundaries: always the server-drawn SVG map (works offline, without
    script); with PAICHA_MAP_TILES also a Leaflet map (vendored under static/vendor/leaflet) on that
    tile server, coordinates converted to PAICHA_MAP_TILES_CRS. The SVG stays visible until a tile
    has loaded, so an unreachable tile server still leaves a map with every point."""
    who = viewer()
    area = area_in_scope(who, request.args.get("area"))
    since, until = _window(current_app.config["PAICHA_LEDGER_DAYS"])
    data = visit_queries.map_data(area, since, until)
    # The points' tooltips in words: the visitor's name and the flags in the page's language.
    data["visits"] = [{**v, "visitor": person_name(v["visitor"]), "flags": [word("vflag_", f) for f in v["flags"]]}
                      for v in data["visits"]]
    tiles = current_app.config.get("PAICHA_MAP_TILES") or ""
    tile_map = charts.tile_map_data(data["villages"], data["visits"], tiles,
                                    current_app.config.get("PAICHA_MAP_TILES_CRS") or "WGS-84",
                                    current_app.config.get("PAICHA_MAP_TILES_ATTRIBUTION") or "") if tiles else None
    response = current_app.make_response(render_template(
        "map.html", area=area, since=since, until=until, data=data, tile_map=tile_map,
        svg=charts.visit_map(data["villages"], data["visits"])))
    if tiles:
        origin = charts.tile_origin(tiles)
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; img-src 'self' data:{' ' + origin if origin else ''}; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
    return response
