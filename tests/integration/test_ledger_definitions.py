"""The rounds' figures say what they count and count what they list: the 排查完成率 and 按时报送率
each carry a sentence, their "records" link lists exactly the rounds of the basis (not the still
open ones, not those due after the window), and the dashboard counts only the rounds due in the
window. SQLite and PostgreSQL, on the demo district, with the clock frozen."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from server.core import clock
from server.core.clock import SHANGHAI

from .test_ledger import browser

pytestmark = pytest.mark.demo

TOTAL = re.compile(r"<span>(?:合计|Total): (\d+)</span>")
RECORDS = re.compile(r'<a class="records" href="([^"]+)"')
ROW = re.compile(r'<tr class="(round-completion|round-on-time)" data-level="(\w+)">(.*?)</tr>', re.S)
BASIS = re.compile(r"<td>(\d+) / (\d+)</td>")


@pytest.fixture
def today(monkeypatch) -> dt.date:
    """The clock stopped at noon of the demo's last day (the demo is seeded up to the real today)."""
    moment = dt.datetime.combine(dt.datetime.now(SHANGHAI).date(), dt.time(12), SHANGHAI)
    monkeypatch.setattr(clock, "now", lambda: moment)
    return moment.date()


def total_of(client, url: str) -> int:
    r = client.get(html.unescape(url))
    assert r.status_code == 200, url
    return int(TOTAL.search(r.text).group(1))


def test_each_rounds_figure_lists_exactly_its_basis(app, today):
    district = browser(app, "demo-district")
    # a window ending mid-period: some rounds started in it fall due after it, some in it are still open
    since, until = today - dt.timedelta(days=45), today
    page = district.get(f"/ledger/figures?since={since}&until={until}").text
    rows = ROW.findall(page)
    assert {kind for kind, _, _ in rows} == {"round-completion", "round-on-time"}
    everything = total_of(district, f"/ledger/ledger?since={since}&until={until}")
    listed_basis = 0
    for kind, level, cells in rows:
        num, den = map(int, BASIS.search(cells).groups())
        link = RECORDS.search(cells).group(1)
        assert "definition" in cells and "≤" not in cells
        if kind == "round-completion":
            assert total_of(district, link) == den, (level, link)  # the list is the basis
            listed_basis += den
        else:
            assert total_of(district, link) == num, (level, link)  # the on-time rounds counted
    assert listed_basis < everything  # the open rounds and those due later were there to leave out
    assert "截止日期在所选时段内、已过截止的排查轮次中" in page


def test_the_dashboard_counts_only_the_rounds_due_in_the_window(app, today):
    district = browser(app, "demo-district")
    until = today - dt.timedelta(days=4)  # rounds started by then fall due after it
    since = until - dt.timedelta(days=40)
    window = f"since={since}&until={until}"
    page = district.get(f"/ledger/?{window}").text
    assert "截止日期在时段之后的轮次不计" in page
    table = page[page.index('id="rounds-table"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r'<td>(\d+)</td>\s*<td><a class="ledger-link" href="([^"]+)"', table)
    assert rows, table[:500]
    later = 0
    for total, link in rows:
        link = html.unescape(link)
        assert "due=window" in link
        assert total_of(district, link) == int(total), link  # the row's link lists what the row counts
        later += total_of(district, link.replace("&due=window", "")) - int(total)
    assert later > 0  # rounds due after the window were there, and are not counted


def test_a_due_filter_other_than_the_window_is_refused(app, today):
    district = browser(app, "demo-district")
    assert district.get("/ledger/ledger?due=later").status_code == 400
    assert district.get("/ledger/ledger?status=due_rounds").status_code == 200


def test_the_bulletins_rounds_basis_is_the_rounds_due_in_the_month(app, today):
    district = browser(app, "demo-district")
    last = today.replace(day=1) - dt.timedelta(days=1)  # last month, whole
    first = last.replace(day=1)
    r = district.get(f"/ledger/bulletin.csv?period={first:%Y-%m}")
    assert r.status_code == 200
    lines = [line.split(",") for line in r.data.decode("utf-8-sig").splitlines()]
    column = lines[0].index("排查按期率 · 口径")
    rows = [(row[1], row[column]) for row in lines[1:] if row[1]]
    assert rows
    for code, basis in rows:
        num, den = map(int, basis.split("/"))
        window = f"area={code}&since={first}&until={last}"
        assert total_of(district, f"/ledger/ledger?{window}&status=due_rounds") == den, code
        assert total_of(district, f"/ledger/ledger?{window}&status=on_time&due=window") == num, code
