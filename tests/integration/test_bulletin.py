"""The bulletins (/ledger/bulletin: 月通报, 季讲评, 年考核): on a district of two townships whose matters
and steps are written by sync with the clock frozen at each, February's figures per township against
the test's own count, the score and the ranking, the change on January and the rank lost, the totals,
the exports (XLSX parsed back, CSV), the periods (month, quarter, year; bad ones 400) and the scope
(a township officer sees the township's villages, never the other township). SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook

from server.core import clock
from server.core.clock import SHANGHAI

from .test_ledger import browser as logged_in, put_in_time_order

PW = "demo-password"
DISTRICT, T1, T2 = "610402", "610402001", "610402002"
V1, V2 = "610402001001", "610402002001"
TODAY = dt.datetime(2031, 3, 20, 10, 0, tzinfo=SHANGHAI)

# (id, village, registered, [(kind, day)]); acceptance is due 15 days after registration
MATTERS = [
    ("m1", V1, "2031-02-03", [("accept", "2031-02-05"), ("close", "2031-02-20"), ("evaluate", "2031-02-22")]),
    ("m2", V1, "2031-02-10", [("accept", "2031-02-12")]),
    ("m3", V2, "2031-02-01", [("accept", "2031-02-25")]),  # late: due 02-16
    ("m4", V2, "2031-01-10", [("accept", "2031-01-12")]),  # January: on time
]
STAFF = {V1: "staff1", V2: "staff2"}
FIELDS = {"accept": {"note": "属于受理范围"}, "close": {"note": "已化解"},
          "evaluate": {"result": "satisfied", "collected_via": "phone", "collected_by": "镇综治中心"}}
CADRE = {V1: "cadre1", V2: "cadre2"}


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def site(app):
    from server.core.accounts import add_account
    from server.core.areas import check_area, import_areas
    from server.core.db import db

    with app.app_context():
        import_areas([check_area(DISTRICT, "王益区"), check_area(T1, "七一路街道"), check_area(T2, "黄堡镇"),
                      check_area(V1, "一村"), check_area(V2, "二村")])
        add_account("sup", PW, "district_supervisor", DISTRICT, "孙督查")
        add_account("staff1", PW, "township_staff", T1, "张强")
        add_account("staff2", PW, "township_staff", T2, "赵敏")
        add_account("cadre1", PW, "village_cadre", V1, "李娟")
        add_account("cadre2", PW, "village_cadre", V2, "王刚")
        db.session.commit()
    client = app.test_client()
    events = []
    for doc_id, village, day, steps in MATTERS:
        events.append((at(day), CADRE[village], doc_id, {
            "type": "dispute", "area": village, "created_by": CADRE[village], "created_at": at(day).isoformat(),
            "summary": f"（测试）{doc_id}", "parties": [{"name": "甲某", "role": "applicant"}],
            "category": "neighbourhood", "risk_level": "low", "status": "registered"}))
        for i, (kind, step_day) in enumerate(steps):
            when = at(step_day, 10 + i)
            events.append((when, STAFF[village], f"step-{doc_id}~{i}", {
                "type": "matter_step", "area": village, "matter_id": doc_id, "kind": kind,
                "created_by": STAFF[village], "created_at": when.isoformat(), "at": when.isoformat(),
                **FIELDS[kind]}))
    put_in_time_order(client, events)
    return app


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: TODAY)


def rows_of(page: str) -> list[str]:
    return re.findall(r'<tr data-area="(\d+)">', page.split('id="bulletin-ranking"')[1].split("</table>")[0])


def cell(page: str, area: str, figure: str) -> str:
    row = re.search(rf'<tr data-area="{area}">(.*?)</tr>', page, re.S).group(1)
    return re.sub(r"<[^>]+>", " ", re.search(rf'data-figure="{figure}">(.*?)</td>', row, re.S).group(1)).split()


def test_monthly_bulletin_ranks_the_townships_on_their_figures(site, frozen):
    page = logged_in(site, "sup").get("/ledger/bulletin?period=2031-02").text
    assert "月通报" in page and "2031-02" in page and "王益区" in page
    assert rows_of(page) == [T1, T2]  # T1: every acceptance on time and a closing on time; T2: one late
    # the test's own count: February's decisions (a late one counted on its deadline, 02-16)
    assert cell(page, T1, "accept_timely") == ["100.0%", "2/2"]
    assert cell(page, T2, "accept_timely") == ["0.0%", "0/1"]
    assert cell(page, T1, "close_on_time") == ["100.0%", "1/1"]  # m1, closed 02-20, due 04-06
    assert cell(page, T1, "public_satisfaction") == ["100.0%", "1/1"]  # m1, evaluated satisfied
    assert cell(page, T1, "registered") == ["2"] and cell(page, T2, "registered") == ["1"]
    t1 = re.search(rf'<tr data-area="{T1}">(.*?)</tr>', page, re.S).group(1)
    t2 = re.search(rf'<tr data-area="{T2}">(.*?)</tr>', page, re.S).group(1)
    assert '<td class="num score">100.0</td>' in t1 and '<td class="num score">0.0</td>' in t2
    # January: T2 was first (m4 accepted on time) and T1 had nothing: T2 lost a place and 100 points
    assert "降1" in t2 and "-100.0" in t2
    totals = re.search(r'<tr data-figure="registered">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'<td class="num">([^<]*)</td>', totals)[:3] == ["3", "1", "+2"]


def test_the_exports_have_the_pages_rows(site, frozen):
    sup = logged_in(site, "sup")
    xlsx = sup.get("/ledger/bulletin.xlsx?period=2031-02")
    assert xlsx.status_code == 200 and 'bulletin-610402-2031-02.xlsx' in xlsx.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(xlsx.data), read_only=True)
    assert book.sheetnames == ["月通报", "筛选条件"]
    rows = list(book["月通报"].iter_rows(values_only=True))
    assert rows[0][:4] == ("排名", "区域代码", "区域", "综合得分")
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [(1, T1, 100), (2, T2, 0)]
    text = sup.get("/ledger/bulletin.csv?period=2031-02").data.decode("utf-8-sig")
    body = list(csv.reader(io.StringIO(text)))
    assert [r[1] for r in body[1:]] == [T1, T2]


@pytest.mark.parametrize("query, label, title", [("kind=quarter", "2030Q4", "季讲评"), ("kind=year", "2030", "年考核"),
                                                 ("period=2031Q1", "2031Q1", "季讲评"), ("", "2031-02", "月通报")])
def test_periods(site, frozen, query, label, title):
    page = logged_in(site, "sup").get(f"/ledger/bulletin?{query}")
    assert page.status_code == 200
    assert f"{title} · {label}" in page.text
    assert 'id="print"' in page.text


@pytest.mark.parametrize("query", ["period=2031-13", "period=abc", "period=1900", "kind=week", "period=２０３１"])
def test_bad_periods_are_400(site, frozen, query):
    assert logged_in(site, "sup").get(f"/ledger/bulletin?{query}").status_code == 400


def test_township_staff_see_their_villages_only(site, frozen):
    staff = logged_in(site, "staff1")
    page = staff.get("/ledger/bulletin?period=2031-02").text
    assert rows_of(page) == [V1] and T2 not in page
    for path in (f"/ledger/bulletin?area={T2}", f"/ledger/bulletin.xlsx?area={T2}", f"/ledger/bulletin.csv?area={DISTRICT}"):
        assert staff.get(path).status_code == 403, path
