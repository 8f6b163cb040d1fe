"""A ledger view as XLSX (openpyxl) or CSV, with the filters of the page."""
from __future__ import annotations

import csv
import io
from typing import Iterable, Iterator

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from server.services.ledger.rounds import EXPORT_HEADER, RoundRow

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _safe(value):
    """Cells starting with = + - @ would be formulas in a spreadsheet (CSV injection): quote them."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_xlsx(rows: Iterable[RoundRow], title: str, filters: dict) -> bytes:
    """A write-only workbook (rows go straight to the file, not kept as cell objects)."""
    return table_xlsx(EXPORT_HEADER, (r.export() for r in rows), title, filters)


def table_xlsx(columns: Iterable[str], rows: Iterable[Iterable], title: str, filters: dict, sheet: str = "ledger") -> bytes:
    """A write-only workbook of one sheet of `rows` under `columns` (and the filters on a second):
    exactly the cells given, no hidden columns or sheets."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.freeze_panes = "A2"
    header = []
    for name in columns:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    for r in rows:
        ws.append([_safe(v) for v in r])
    meta = wb.create_sheet("filters")
    meta.append(["title", title])
    for key, value in filters.items():
        meta.append([key, "" if value is None else str(value)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_csv(rows: Iterable[RoundRow]) -> bytes:
    return b"".join(csv_chunks(rows))


def csv_chunks(rows: Iterable[RoundRow], every: int = 500) -> Iterator[bytes]:
    """The CSV in chunks of `every` rows (a streamed response), starting with a BOM: Excel opens
    UTF-8 CSV correctly with it."""
    return table_csv_chunks(EXPORT_HEADER, (r.export() for r in rows), every)


def table_csv_chunks(columns: Iterable[str], rows: Iterable[Iterable], every: int = 500) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(list(columns))
    for n, r in enumerate(rows, 1):
        writer.writerow([_safe(v) for v in r])
        if n % every == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")
