"""An XLSX workbook produced as it is sent: the zip is written to a sink that hands its bytes on
as they come, the sheet's XML row by row, so the first bytes leave before the rows are read and
memory stays flat however many rows there are. A workbook of what the ledger needs and no more:
inline strings, numbers, a bold heading row frozen at the top, column widths, and a second sheet of
the export's filters."""
from __future__ import annotations

import datetime as dt
import re
import zipfile
from typing import Iterable, Iterator
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Characters XML 1.0 cannot carry (a spreadsheet would refuse the whole file for one of them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


class _Sink:
    """A write-only, unseekable file: zipfile then writes each entry's sizes after its data (a
    data descriptor), so nothing already written needs to be gone back to."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def sheet_name(name: str) -> str:
    """A name Excel accepts for a sheet: at most 31 characters, none of []:*?/\\."""
    return _SHEET_NAME_BAD.sub(" ", name)[:31] or "Sheet"


def _cell(ref: str, value, style: int = 0) -> str:
    s = f' s="{style}"' if style else ""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"{s}><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    if isinstance(value, (dt.date, dt.datetime)):
        value = value.isoformat()
    text = escape(_NOT_XML.sub("", str(value)))
    return f'<c r="{ref}" t="inlineStr"{s}><is><t xml:space="preserve">{text}</t></is></c>'


def _row(number: int, values: Iterable, letters: list[str], style: int = 0) -> str:
    cells = []
    for i, value in enumerate(values):
        while i >= len(letters):
            letters.append(get_column_letter(len(letters) + 1))
        cells.append(_cell(f"{letters[i]}{number}", value, style))
    return f'<row r="{number}">{"".join(cells)}</row>'


def _sheet_start(widths: list[int] | None, frozen: bool) -> str:
    views = ('<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft"'
             ' state="frozen"/></sheetView></sheetViews>') if frozen else ""
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths or [], 1))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {_NS}>{views}'
            + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>")


_SHEET_END = "</sheetData></worksheet>"

_STYLES = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet {_NS}>'
           '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
           '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
           '<fills count="2"><fill><patternFill patternType="none"/></fill>'
           '<fill><patternFill patternType="gray125"/></fill></fills>'
           '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
           '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
           '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
           '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
           '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')


def _workbook_parts(names: list[str]) -> dict[str, str]:
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    sheets = "".join(f'<sheet name="{escape(n, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
                     for i, n in enumerate(names, 1))
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                        f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                        for i in range(1, len(names) + 1))
    sheet_rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                         for i in range(1, len(names) + 1))
    n = len(names) + 1
    return {
        "[Content_Types].xml": head + (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>' + overrides + "</Types>"),
        "_rels/.rels": head + (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": head + f'<workbook {_NS} xmlns:r="{_REL}"><sheets>{sheets}</sheets></workbook>',
        "xl/_rels/workbook.xml.rels": head + (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' + sheet_rels
            + f'<Relationship Id="rId{n}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'),
        "xl/styles.xml": _STYLES,
    }


def workbook_chunks(columns: Iterable[str], rows: Iterable[Iterable], *, sheet: str, widths: list[int] | None,
                    second_sheet: str, second_rows: Iterable[Iterable], every: int = 200) -> Iterator[bytes]:
    """The workbook's bytes, in pieces: the small parts first, then the sheet of `rows` under a bold
    heading of `columns` (handed on every `every` rows, as they are read), then the second sheet."""
    sink = _Sink()
    names = [sheet_name(sheet), sheet_name(second_sheet)]
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=5) as book:
        for part, text in _workbook_parts(names).items():
            book.writestr(part, text)
        yield sink.take()
        letters: list[str] = []
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as xml:
            xml.write((_sheet_start(widths, frozen=True) + _row(1, columns, letters, style=1)).encode())
            lines = []
            for n, values in enumerate(rows, 2):
                lines.append(_row(n, values, letters))
                if len(lines) == every:
                    xml.write("".join(lines).encode())
                    lines.clear()
                    chunk = sink.take()
                    if chunk:
                        yield chunk
            xml.write(("".join(lines) + _SHEET_END).encode())
        with book.open("xl/worksheets/sheet2.xml", "w") as xml:
            xml.write((_sheet_start([14, 40], frozen=False)
                       + "".join(_row(n, r, letters) for n, r in enumerate(second_rows, 1)) + _SHEET_END).encode())
    yield sink.take()
