"""The ledger's exports are sent as they are produced: the first bytes leave before the rows are
read (a response built whole would fail here), the files parse back, and a client that breaks off a
download leaves no error behind. SQLite and PostgreSQL, on the demo district."""
from __future__ import annotations

import csv
import io
import logging
import re

import pytest
from openpyxl import load_workbook

from server.services.ledger import rounds as round_queries

from tests.integration.test_ledger import login

pytestmark = pytest.mark.demo

EXPORTS = ["/ledger/ledger.xlsx", "/ledger/ledger.csv", "/ledger/disputes.xlsx", "/ledger/disputes.csv",
           "/ledger/bulletin.xlsx", "/ledger/bulletin.csv"]


@pytest.fixture
def district(client):
    login(client, "demo-district")
    return client


@pytest.fixture
def counted_rows(monkeypatch):
    """The ledger's rows as the export reads them, counted."""
    read: list[int] = []
    real = round_queries.iter_round_rows

    def counting(*args, **kwargs):
        for row in real(*args, **kwargs):
            read.append(1)
            yield row

    monkeypatch.setattr(round_queries, "iter_round_rows", counting)
    return read


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_first_bytes_leave_before_the_rows_are_read(district, counted_rows, fmt):
    r = district.get(f"/ledger/ledger.{fmt}", buffered=False)
    assert r.status_code == 200 and "Content-Length" not in r.headers
    assert r.headers["Cache-Control"] == "no-store"
    chunks = iter(r.response)
    first = next(chunks)
    assert first.startswith(b"PK" if fmt == "xlsx" else b"\xef\xbb\xbf") and counted_rows == []
    rest = b"".join(chunks)
    r.close()
    assert len(counted_rows) > 10  # ... and were all read afterwards, into the body
    data = first + rest
    if fmt == "xlsx":
        rows = list(load_workbook(io.BytesIO(data))["台账"].iter_rows(values_only=True))
    else:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == len(counted_rows) + 1


@pytest.mark.parametrize("path", EXPORTS)
def test_every_export_streams_and_parses(district, path):
    r = district.get(path, buffered=False)
    assert r.status_code == 200 and "Content-Length" not in r.headers and "attachment" in r.headers[
        "Content-Disposition"]
    data = r.get_data()
    if path.endswith(".xlsx"):
        wb = load_workbook(io.BytesIO(data))
        assert wb.sheetnames[1] == "筛选条件"
        sheet = wb[wb.sheetnames[0]]
        assert sheet["A1"].font.b and sheet.freeze_panes == "A2" and sheet.column_dimensions["A"].width > 5
        heading = next(sheet.iter_rows(values_only=True))
        assert all(isinstance(h, str) and h for h in heading)
        assert not any(h.isascii() and h.islower() for h in heading)  # headings in words, not keys
    else:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert rows and all(len(row) == len(rows[0]) for row in rows)


@pytest.mark.parametrize("path", ["/ledger/ledger.xlsx", "/ledger/ledger.csv", "/ledger/disputes.xlsx"])
def test_a_download_broken_off_leaves_no_error(app, district, path, caplog):
    caplog.set_level(logging.WARNING)
    r = district.get(path, buffered=False)
    chunks = iter(r.response)
    assert next(chunks)
    r.close()  # what the WSGI server does when the client goes away
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    after = district.get("/ledger/ledger.csv")  # the server serves on, its context stack whole
    assert after.status_code == 200 and after.get_data().startswith(b"\xef\xbb\xbf")


def test_exports_stay_in_the_viewers_scope(client):
    login(client, "demo-township")
    for path in ("/ledger/ledger.xlsx?area=990101002", "/ledger/disputes.csv?area=990101002",
                 "/ledger/ledger.csv?area=990201"):
        r = client.get(path)
        assert r.status_code in (403, 404), (path, r.status_code)
        assert not r.get_data().startswith(b"PK")


def test_the_export_links_say_how_many_rows_they_send(district):
    page = district.get("/ledger/ledger?level=village").text
    said = re.search(r'id="export-csv"[^>]*>导出 CSV<span class="export-rows">（(\d+) 行）</span>', page)
    assert said, page[:2000]
    rows = list(csv.reader(io.StringIO(district.get("/ledger/ledger.csv?level=village").get_data().decode("utf-8-sig"))))
    assert int(said.group(1)) == len(rows) - 1 > 0
    bulletin = district.get("/ledger/bulletin").text
    n = int(re.search(r'id="export-xlsx">导出 Excel<span class="export-rows">（(\d+) 行）', bulletin).group(1))
    sheet = load_workbook(io.BytesIO(district.get("/ledger/bulletin.xlsx").get_data())).worksheets[0]
    assert n == sheet.max_row - 1
