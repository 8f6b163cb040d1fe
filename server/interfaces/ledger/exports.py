"""A ledger view as XLSX or CSV, with the filters of the page, produced as the rows are read."""
from __future__ import annotations

import csv
import io
from typing import Iterable, Iterator

from flask import Response, stream_with_context

from server.interfaces.ledger import xlsx_stream
from server.services.ledger.rounds import EXPORT_HEADER, RoundRow

XLSX = xlsx_stream.XLSX


def _safe(value):
    """Cells starting with = + - @ would be formulas in a spreadsheet (CSV injection): quote them."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# The rounds' columns as a reader sees them (the CSV keeps EXPORT_HEADER's keys and the codes, for
# programs), with the width each needs, in characters.
ROUND_COLUMNS = {"area": ("区域代码", 14), "name": ("区域", 14), "level": ("层级", 9), "round_id": ("轮次编号", 40),
                 "title": ("排查轮次", 28), "period_start": ("周期起", 12), "period_end": ("周期止", 12),
                 "due": ("截止", 12), "status": ("状态", 10), "report_id": ("报告编号", 44),
                 "submitted_at": ("提交时间", 20), "time_used": ("用时", 10), "received_at": ("接收时间", 20),
                 "review": ("审核", 14)}
WORDS = {"level": "lvl_", "status": "", "review": ""}  # which codes are said in words, by their catalogue prefix


def to_xlsx(rows: Iterable[RoundRow], title: str, filters: dict, *, word, filter_labels: dict[str, str],
            sheet: str, filters_sheet: str) -> Iterator[bytes]:
    """The rounds as a streamed workbook, in the reader's words:
    Chinese headings with widths, levels, statuses and reviews in words (`word(prefix, code)`)."""
    keys = list(EXPORT_HEADER)
    def said(row: list) -> list:
        return [word(WORDS[k], v) if k in WORDS and v else v for k, v in zip(keys, row)]
    return table_xlsx([ROUND_COLUMNS[k][0] for k in keys], (said(r.export()) for r in rows), title,
                      {filter_labels.get(k, k): v for k, v in filters.items()}, sheet=sheet,
                      filters_sheet=filters_sheet, widths=[ROUND_COLUMNS[k][1] for k in keys])


def table_xlsx(columns: Iterable[str], rows: Iterable[Iterable], title: str, filters: dict, sheet: str = "ledger",
               *, filters_sheet: str = "filters", widths: list[int] | None = None) -> Iterator[bytes]:
    """One sheet of `rows` under `columns` (and the filters on a second), as bytes produced while
    the rows are read (`xlsx_stream`): exactly the cells given, no hidden columns or sheets."""
    filters = dict(filters)
    meta = [[filters.pop("__title_label__", "title"), title]]
    meta += [[key, "" if value is None else str(value)] for key, value in filters.items()]
    return xlsx_stream.workbook_chunks(columns, ([_safe(v) for v in r] for r in rows), sheet=sheet, widths=widths,
                                       second_sheet=filters_sheet, second_rows=meta)


def streamed(chunks: Iterator[bytes], fmt: str, stem: str) -> Response:
    """A download sent as it is produced: no Content-Length (the browser shows the bytes arriving),
    the request's context kept for the words of the rows. Behind nginx it stays buffered there
    (docker/nginx/paicha.conf): nginx passes the bytes on as they come and takes them from the
    worker at once, so a slow client holds nginx, not a thread."""
    response = Response(stream_with_context(chunks), mimetype=XLSX if fmt == "xlsx" else "text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def csv_chunks(rows: Iterable[RoundRow], every: int = 500) -> Iterator[bytes]:
    """The CSV in chunks of `every` rows (a streamed response), starting with a BOM: Excel opens
    UTF-8 CSV correctly with it."""
    return table_csv_chunks(EXPORT_HEADER, (r.export() for r in rows), every)


def table_csv_chunks(columns: Iterable[str], rows: Iterable[Iterable], every: int = 500) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(list(columns))
    yield _taken(buf)  # the heading leaves before the first row is read
    for n, r in enumerate(rows, 1):
        writer.writerow([_safe(v) for v in r])
        if n % every == 0:
            yield _taken(buf)
    yield _taken(buf)


def _taken(buf: io.StringIO) -> bytes:
    out = buf.getvalue().encode("utf-8")
    buf.seek(0)
    buf.truncate()
    return out
