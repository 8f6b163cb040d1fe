"""The issue's small defects, each checked where a user meets it: the quarterly round-up prints every
key dispute, a window over 800 days says its limit, a review without a comment leaves no stray
separators. SQLite and PostgreSQL, on the demo district, with the clock frozen."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from server.core import clock
from server.core.clock import SHANGHAI
from server.interfaces.ledger import views

from .test_ledger import browser, csrf, reports_of
from .test_ledger_people import visible

pytestmark = pytest.mark.demo


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    moment = dt.datetime.combine(dt.datetime.now(SHANGHAI).date(), dt.time(12), SHANGHAI)
    monkeypatch.setattr(clock, "now", lambda: moment)


def key_rows(page: str) -> int:
    table = page[page.index('id="key-table"'):]
    return len(re.findall(r'<td class="reg-number', table[:table.index("</table>")]))


def test_the_quarterly_round_up_prints_every_key_dispute(app, monkeypatch):
    district = browser(app, "demo-district")
    monkeypatch.setattr(views, "QUARTER_KEY_PAGE", 1)  # a page of one: the demo's quarter has more
    paged = district.get("/ledger/quarterly").text
    assert key_rows(paged) == 1 and 'id="key-all"' in paged
    whole = district.get("/ledger/quarterly?all=1").text
    total = int(re.search(r"共 (\d+) 件", whole).group(1))
    assert total > 1 and key_rows(whole) == total and 'id="key-all"' not in whole


def test_a_window_over_800_days_states_the_limit(app):
    district = browser(app, "demo-district")
    r = district.get("/ledger/ledger?since=2020-01-01&until=2026-01-01")
    assert r.status_code == 400 and "800" in visible(r.text)
    r = district.get("/ledger/ledger?since=2020-01-01&until=2026-01-01&lang=en")
    assert r.status_code == 400 and "at most 800 days" in visible(r.text)


def test_a_review_without_a_comment_leaves_no_stray_separators(app):
    district = browser(app, "demo-district")
    report_id = reports_of(district, "990101001001")[0]
    page = f"/ledger/report/{report_id}"
    r = district.post(f"{page}/review", data={"status": "received", "csrf_token": csrf(district, page)})
    assert r.status_code in (200, 302)
    text = " ".join(visible(district.get(page).text).split())
    assert "· ·" not in text and "已接收" in text and "孙强（区督查）" in text


def test_a_files_revisions_are_in_words(app):
    district = browser(app, "demo-district")
    text = visible(district.get("/ledger/dispute/dispute-990101001001-01").text)
    revisions = text[text.index("修改记录"):]
    assert "版本链" in revisions and "可查阅" in revisions
    assert not re.search(r"\b(tree|available|missing)\b", revisions)
    changed = revisions[revisions.index("变更字段"):revisions.index("版本链")]
    assert "当事人" in changed and not re.search(r"[a-z]+_[a-z_]+|\b(parties|summary|status)\b", changed)
