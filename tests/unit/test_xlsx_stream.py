"""The streamed XLSX writer: its bytes leave while the rows are still being read, memory stays
flat however many rows, and what it writes opens in openpyxl with the sheets, bold frozen headings,
widths, numbers and text given (escaped, control characters dropped)."""
from __future__ import annotations

import io
import tracemalloc
import zipfile

from openpyxl import load_workbook

from server.interfaces.ledger import xlsx_stream


def _rows(n: int, read: list[int]):
    for i in range(n):
        read.append(i)
        # varied text, so deflate cannot fold it all away and must hand bytes on as it goes
        yield [f"610402{i:06d}", f"第{i}村 <&> \"委员会\" {i * 7919 % 100003}", i, i / 7, None]


def _book(columns=("区域代码", "区域", "序号", "比例", "空"), n=10, **kw):
    read: list[int] = []
    chunks = list(xlsx_stream.workbook_chunks(list(columns), _rows(n, read), sheet="台账", widths=[14, 30, 6],
                                              second_sheet="筛选条件", second_rows=[["标题", "台账"], ["区域", "610402"]],
                                              **kw))
    return chunks, read


def test_the_first_bytes_leave_before_any_row_is_read_and_rows_follow_as_read():
    read: list[int] = []
    chunks = xlsx_stream.workbook_chunks(["a", "b", "c", "d", "e"], _rows(60_000, read), sheet="s", widths=None,
                                         second_sheet="f", second_rows=[])
    first = next(chunks)
    assert first.startswith(b"PK") and read == []  # sent before the rows are asked for
    seen_while_reading = []
    for chunk in chunks:
        assert chunk
        seen_while_reading.append(len(read))
    # more than a couple of pieces, most of them handed on while rows were still unread
    assert len(seen_while_reading) > 5
    assert sum(1 for r in seen_while_reading if r < 60_000) > 3


def test_the_workbook_opens_with_its_sheets_headings_widths_and_cells():
    chunks, read = _book()
    data = b"".join(chunks)
    assert len(read) == 10
    zipfile.ZipFile(io.BytesIO(data)).testzip()
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["台账", "筛选条件"]
    sheet = wb["台账"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("区域代码", "区域", "序号", "比例", "空")
    assert sheet["A1"].font.b and not sheet["A2"].font.b
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width == 14 and sheet.column_dimensions["B"].width == 30
    assert rows[3][:4] == ("610402000002", '第2村 <&> "委员会" 15838', 2, 2 / 7) and rows[3][4] is None
    assert len(rows) == 11
    assert dict(wb["筛选条件"].iter_rows(values_only=True)) == {"标题": "台账", "区域": "610402"}


def test_characters_xml_cannot_carry_are_dropped_not_a_broken_file():
    chunks = xlsx_stream.workbook_chunks(["名称"], iter([["a\x00b\x1fc\x0bd"], ["ok\tline\nnext"]]), sheet="x/y:z",
                                         widths=None, second_sheet="f" * 40, second_rows=[])
    wb = load_workbook(io.BytesIO(b"".join(chunks)))
    assert wb.sheetnames == ["x y z", "f" * 31]  # names Excel accepts
    assert [r[0] for r in wb["x y z"].iter_rows(values_only=True)] == ["名称", "abcd", "ok\tline\nnext"]


def test_memory_stays_flat_however_many_rows():
    def rows(n: int):
        for i in range(n):
            yield [f"610402{i:06d}", f"第{i}村 {i * 7919 % 100003}", i, i / 7, None]

    def peak(n: int) -> int:
        tracemalloc.start()
        try:
            for _ in xlsx_stream.workbook_chunks(["a", "b", "c", "d", "e"], rows(n), sheet="s", widths=None,
                                                 second_sheet="f", second_rows=[]):
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(2_000), peak(40_000)
    assert large < small * 1.5 + 200_000, (small, large)  # twenty times the rows, not twenty times the memory
    assert large < 2_000_000
