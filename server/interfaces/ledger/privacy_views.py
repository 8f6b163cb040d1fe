"""Personal data on the ledger: the disputes' export (XLSX / CSV, each matter's parties masked for a
viewer who does not handle it, each matter exported logged as an opening) and the log of openings
(档案查阅记录, /ledger/access-log: district supervisors and administrators only)."""
from __future__ import annotations

from flask import current_app, render_template, request

from schemas.errors import PaichaError

from server.core.access import domain_database
from server.services import file_access
from server.services.calendar.periods import start_of_day
from server.services.ledger import windows
from server.services.matters import queries as matter_queries
from server.interfaces.ledger import area_picker, dispute_filters, exports
from server.interfaces.ledger.sorting import sort_of
from server.interfaces.ledger.i18n import t, word
from server.interfaces.ledger.security import area_in_scope, viewer
from server.interfaces.ledger.views import LOG_ROLES, _date, _doc_id, _page, bp, fmt_time, page_size


# The filters sheet in words: each filter's heading, and the words of its coded values.
FILTER_LABELS = {"area": "area", "stage": "stage", "status": "status", "risk": "risk", "category": "category",
                 "since": "registered_from", "until": "registered_to", "open": "only_open", "key": "only_key",
                 "overdue": "only_overdue", "sort": "sort_by", "dir": "sort_dir"}
FILTER_WORDS = {"stage": "mstage_", "status": "ds_", "risk": "risk_", "category": "cat_"}


def _party_cell(doc: dict, field: str) -> str:
    return "；".join(str(p.get(field) or "") for p in doc.get("parties") or [] if isinstance(p, dict))


@bp.get("/disputes.<fmt>")
def disputes_export(fmt):
    """The disputes of the list's filters (all of the page's, and its order), up to
    PAICHA_LEDGER_EXPORT_ROWS, with their parties: each one an opening of its file."""
    who = viewer()
    if fmt not in ("xlsx", "csv"):
        raise PaichaError("missing")
    area = area_in_scope(who, request.args.get("area"))
    database = domain_database(who)
    chosen, order = dispute_filters.matter_filters(), dispute_filters.matter_sort()
    facts = matter_queries.filtered_matters(database, area, chosen, sort=order.key, descending=order.descending,
                                            limit=current_app.config["PAICHA_LEDGER_EXPORT_ROWS"])
    filters = {"area": area, **{k: v for k, v in dispute_filters.kept_args().items() if k != "area"}}
    ids = [f["id"] for f in facts]
    columns = ["ID", t("reg_number"), t("area"), t("category"), t("risk"), t("status"), t("created_at"),
               t("summary"), t("parties"), t("party_role"), t("phone"), t("id_number")]
    rows = _dispute_rows(database, who, ids)
    stem = f"disputes-{area or 'all'}-{windows.today()}"
    if fmt == "xlsx":
        shown = {"__title_label__": t("export_title"),
                 **{t(FILTER_LABELS.get(k, k)): word(FILTER_WORDS[k], v) if k in FILTER_WORDS else v
                    for k, v in filters.items()}}
        body = exports.table_xlsx(columns, rows, t("disputes"), shown, sheet=t("disputes"),
                                  filters_sheet=t("export_filters"), widths=[36, 18, 12, 10, 8, 10, 18, 40, 20, 16, 26, 30])
    else:
        body = exports.table_csv_chunks(columns, rows)
    return exports.streamed(body, fmt, stem)


def _dispute_rows(database, who, ids: list[str], batch: int = 200):
    """The export's rows, read a batch of files at a time as they are sent; each file opened (and
    logged) when its batch is read, so a download broken off logs only what was read."""
    for start in range(0, len(ids), batch):
        keys = ids[start:start + batch]
        docs = [row.doc for row in database.all_docs(keys=keys, include_docs=True).rows if row.doc]
        numbers = matter_queries.numbers_of(database, keys)
        for d in file_access.open_files(database, who, docs, file_access.EXPORT):
            yield [d["_id"], numbers.get(d["_id"], ""), d.get("area", ""), t("cat_" + str(d.get("category"))),
                   t("risk_" + str(d.get("risk_level"))), t("ds_" + str(d.get("status"))), fmt_time(d.get("created_at")),
                   d.get("summary", ""), _party_cell(d, "name"),
                   "；".join(t("prole_" + str(p.get("role"))) for p in d.get("parties") or [] if isinstance(p, dict)),
                   _party_cell(d, "phone"), _party_cell(d, "id_number")]


def _text_filter(name: str) -> str | None:
    value = request.args.get(name) or None
    if value is not None and not (len(value) <= 255 and value.isprintable() and value.strip()):
        raise PaichaError("bad_filter", name=name)
    return value


@bp.get("/access-log")
def access_log():
    """Every opening of a file of a matter in the viewer's scope, newest first (or by a column), in
    pages; filtered by area, matter, account and days (Asia/Shanghai)."""
    who = viewer()
    if who.role not in LOG_ROLES:
        raise PaichaError("forbidden_access_log")
    matter = _text_filter("matter")
    if matter is not None:
        matter = _doc_id(matter)
    account = _text_filter("account")
    since, until = _date("since", None), _date("until", None)
    if since and until and since > until:
        raise PaichaError("bad_window")
    area = area_in_scope(who, request.args.get("area"))
    order = sort_of(file_access.OPENING_SORT_KEYS, "at", descending=True)
    page, size = _page(), page_size()
    rows = file_access.openings(current_app.config["PAICHA_DOMAIN_DB"], area, matter_id=matter,
                                account=account, since=start_of_day(since) if since else None,
                                until=windows.end_of(until) if until else None, sort=order.key,
                                descending=order.descending, offset=(page - 1) * size, limit=size + 1)
    more = len(rows) > size
    return render_template("access_log.html", rows=rows[:size], page=page, more=more, order=order,
                           areas=area_picker.options(who.scope or ""), area=area,
                           filters={"matter": matter or "", "account": account or "",
                                    "since": since or "", "until": until or ""})

