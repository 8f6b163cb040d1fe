"""A ledger view as XLSX (openpyxl) or CSV, with the filters of the page."""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from .queries import EXPORT_HEADER, RoundRow

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _safe(value):
    """Cells starting with = + - @ would be formulas in a spreadsheet (CSV injection): quote them."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_xlsx(rows: list[RoundRow], title: str, filters: dict) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "ledger"
    ws.append(EXPORT_HEADER)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([_safe(v) for v in r.export()])
    ws.freeze_panes = "A2"
    meta = wb.create_sheet("filters")
    meta.append(["title", title])
    for key, value in filters.items():
        meta.append([key, "" if value is None else str(value)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_csv(rows: list[RoundRow]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_HEADER)
    for r in rows:
        writer.writerow([_safe(v) for v in r.export()])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 CSV correctly
