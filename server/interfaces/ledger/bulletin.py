"""The bulletins (月通报, 季讲评, 年考核), /ledger/bulletin?period=YYYY-MM | YYYYQn | YYYY: the child
areas of the viewer's area ranked on the period's figures (`services.ledger.bulletin`), printable on
A4 and exported as XLSX (Chinese headings) or CSV (the same cells)."""
from __future__ import annotations

from flask import current_app, render_template, request

from schemas.errors import PaichaError

from server.core import clock
from server.core.access import domain_database
from server.services.ledger import bulletin as bulletins
from server.interfaces.ledger import exports
from server.interfaces.ledger.i18n import lang, t
from server.interfaces.ledger.security import area_in_scope, viewer
from server.interfaces.ledger.views import bp


def _read(who):
    area = area_in_scope(who, request.args.get("area"))
    kind = request.args.get("kind") or bulletins.MONTH
    if kind not in bulletins.KINDS:
        raise PaichaError("bad_request")
    try:
        period = bulletins.parse_period(request.args.get("period"), clock.today(), kind)
    except ValueError:
        raise PaichaError("bad_period", name="period")
    return area, bulletins.bulletin(domain_database(who), area, period, clock.today())


def _figures() -> list[dict]:
    config = current_app.config
    out = []
    for f in bulletins.FIGURES:
        name, definition = bulletins.words(f, lang(), accept_days=config["PAICHA_MATTER_ACCEPT_DAYS"],
                                           handle_days=config["PAICHA_MATTER_HANDLE_DAYS"])
        out.append({"key": f.key, "name": name, "definition": definition, "scored": f.scored})
    return out


@bp.get("/bulletin")
def bulletin():
    area, result = _read(viewer())
    return render_template("bulletin.html", area=area, b=result, figures=_figures(), kinds=bulletins.KINDS)


@bp.get("/bulletin.<fmt>")
def bulletin_export(fmt):
    if fmt not in ("xlsx", "csv"):
        raise PaichaError("missing")
    area, result = _read(viewer())
    figures = _figures()
    columns = [t("rank"), t("area") + "代码" if lang() == "zh" else "area code", t("area"), t("score"),
               t("vs_previous"), t("vs_last_year")]
    widths = [6, 12, 16, 10, 10, 12]
    for f in figures:
        if f["key"] == "registered":
            columns.append(f["name"])
            widths.append(10)
        else:
            columns += [f"{f['name']}（%）" if lang() == "zh" else f"{f['name']} (%)", f"{f['name']} · {t('basis')}"]
            widths += [12, 12]
    rows = bulletins.export_rows(result)
    for row in rows:
        row[2] = row[2] or t("area_itself")
    stem = f"bulletin-{area or 'all'}-{result.period.label}"
    if fmt == "xlsx":
        title = f"{t('bulletin_' + result.period.kind)} {result.period.label}"
        filters = {"__title_label__": t("export_title"), t("area"): area, t("period_label"): result.period.label,
                   t("period_from"): result.period.since.isoformat(), t("period_to"): result.period.until.isoformat()}
        body = exports.table_xlsx(columns, rows, title, filters, sheet=t("bulletin_" + result.period.kind),
                                  filters_sheet=t("export_filters"), widths=widths)
    else:
        body = exports.table_csv_chunks(columns, rows)
    return exports.streamed(body, fmt, stem)
