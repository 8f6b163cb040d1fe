"""The disputes list's filter form, its sortable columns and its exports, through the Flask test
client on the demo district (a frozen clock): every filter cuts the page and its XLSX/CSV alike, the
order asked is the order given (and kept by the pager and the exports), a column it does not sort by
is a 400 that says so in Chinese, and the area picker offers the viewer's own areas by name only."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook

from server.core.clock import SHANGHAI

from .test_ledger import browser
from .test_matters import START, TOWNSHIP, VILLAGE, VILLAGE2, at, register, web_step  # noqa: F401  (at: a fixture)

pytestmark = pytest.mark.demo

FOREIGN_VILLAGE = "990101002001"
ROW_ID = re.compile(r'<a href="/ledger/dispute/([^"]+)" title=')


def listed(client, url: str, among=None) -> list[str]:
    """The matters a page lists, in its order (only those `among`, when given: the demo district
    has matters of its own)."""
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return [i for i in ROW_ID.findall(r.text) if among is None or i in among]


def csv_ids(client, url: str, among=None) -> list[str]:
    r = client.get(url)
    assert r.status_code == 200, (url, r.text[:300])
    ids = [row[0] for row in list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))[1:]]
    return [i for i in ids if among is None or i in among]


@pytest.fixture
def matters(app, client, at):
    """Three matters of one village registered a day apart, one accepted; and the clock moved on
    until the two left unaccepted are overdue."""
    made = [register(client, when=START + dt.timedelta(days=n)) for n in range(3)]
    township = browser(app, "demo-township")
    r = web_step(township, made[1], "accept")
    assert r.status_code == 302, r.text[:400]
    at(dt.datetime(2027, 1, 20, 9, 0, tzinfo=SHANGHAI))
    return made


def test_every_filter_cuts_the_page_and_both_exports_alike(app, matters):
    district = browser(app, "demo-district")
    first, accepted, last = matters
    base = f"area={VILLAGE}&since=2026-12-20&until=2026-12-31&category=homestead"
    assert set(listed(district, f"/ledger/disputes?{base}")) == set(matters)
    for query, expected in ((f"{base}&stage=registered", {first, last}), (f"{base}&stage=accepted", {accepted}),
                            (f"{base}&overdue=1", {first, last}), (f"{base}&overdue=1&stage=accepted", set()),
                            (f"area={VILLAGE}&since=2026-12-20&until=2026-12-20&category=homestead", {first}),
                            (f"area={VILLAGE}&since=2026-12-22&until=2026-12-31&category=homestead", {last}),
                            (f"{base}&risk=high", set()), (f"{base}&risk=medium&open=1&stage=registered", {first, last})):
        page = set(listed(district, f"/ledger/disputes?{query}"))
        assert page == expected, query
        # the exports read the same parameters: stage and overdue too, not only the page
        assert set(csv_ids(district, f"/ledger/disputes.csv?{query}")) == expected, query
        book = load_workbook(io.BytesIO(district.get(f"/ledger/disputes.xlsx?{query}").data), read_only=True)
        sheet = book.worksheets[0]
        assert {r[0] for r in sheet.iter_rows(min_row=2, values_only=True)} == expected, query


def test_the_page_links_its_exports_with_its_filters(app, matters):
    district = browser(app, "demo-district")
    page = district.get(f"/ledger/disputes?area={VILLAGE}&stage=registered&overdue=1&sort=created&dir=desc").text
    link = re.search(r'id="export-csv" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    for part in ("stage=registered", "overdue=1", f"area={VILLAGE}", "sort=created", "dir=desc"):
        assert part in link
    assert csv_ids(district, link, matters) == [matters[2], matters[0]]


def test_sorting_by_a_column_both_ways_with_the_id_breaking_ties(app, matters):
    district = browser(app, "demo-district")
    base = f"/ledger/disputes?area={VILLAGE}&since=2026-12-20&until=2026-12-31&category=homestead"
    assert listed(district, base + "&sort=created&dir=asc", matters) == matters
    assert listed(district, base + "&sort=created&dir=desc", matters) == matters[::-1]
    assert csv_ids(district, base.replace("disputes?", "disputes.csv?") + "&sort=created&dir=desc", matters) == matters[::-1]
    by_stage = listed(district, base + "&sort=stage", matters)  # registered before accepted; ties by id
    assert by_stage == sorted([matters[0], matters[2]]) + [matters[1]]
    same_risk = listed(district, base + "&risk=medium&sort=risk&dir=desc", matters)  # one risk: id order, reversed
    assert same_risk == sorted(matters, reverse=True)


def test_the_sorted_heading_shows_an_arrow_and_its_link_keeps_the_filters(app, matters):
    district = browser(app, "demo-district")
    page = district.get(f"/ledger/disputes?area={VILLAGE}&stage=registered&sort=created&dir=asc").text
    head = re.search(r'<a class="sort sorted" href="([^"]+)" aria-sort="ascending">([^<]+)</a>', page)
    assert head and head.group(2).endswith("▲")
    flipped = head.group(1).replace("&amp;", "&")
    assert "dir=desc" in flipped and "stage=registered" in flipped and f"area={VILLAGE}" in flipped
    assert "▼" in district.get(flipped).text
    # the filter form sends the order again with the filters
    assert re.search(r'<input type="hidden" name="sort" value="created">', page)


def test_the_pager_keeps_filters_and_order(app, client, at, monkeypatch):
    monkeypatch.setitem(app.config, "PAICHA_LEDGER_PAGE_SIZE", 2)
    made = [register(client, when=START + dt.timedelta(hours=n)) for n in range(3)]
    district = browser(app, "demo-district")
    url = f"/ledger/disputes?area={VILLAGE}&since=2026-12-20&until=2026-12-20&sort=created&dir=desc"
    seen, pages = [], 0
    while url and pages < 20:
        page = district.get(url).text
        assert len(ROW_ID.findall(page)) <= 2
        seen += [i for i in ROW_ID.findall(page) if i in made]
        found = re.search(r'rel="next" href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
        if url:
            assert "sort=created" in url and "dir=desc" in url and "since=2026-12-20" in url
        pages += 1
    assert pages >= 2 and seen == made[::-1]


@pytest.mark.parametrize("query", ["sort=summary", "sort=doc_id;drop", "sort=created&dir=up", "dir=sideways",
                                   "sort=%00", "sort=" + "x" * 300])
def test_an_order_the_list_does_not_offer_is_a_400_that_says_why(app, query):
    district = browser(app, "demo-district")
    for path in ("/ledger/disputes", "/ledger/disputes.csv", "/ledger/disputes.xlsx"):
        r = district.get(f"{path}?{query}")
        assert r.status_code == 400, (path, query, r.status_code)
        assert "此列表不能按" in r.text and "asc（升序）" in r.text


@pytest.mark.parametrize("query", ["since=2026-13-01", "since=2026-12-31&until=2026-12-01", "stage=nowhere",
                                   "status=gone", "category=%00"])
def test_a_bad_filter_is_a_400_on_the_page_and_its_exports(app, query):
    district = browser(app, "demo-district")
    for path in ("/ledger/disputes", "/ledger/disputes.csv"):
        assert district.get(f"{path}?{query}").status_code == 400, (path, query)


def test_the_area_picker_offers_the_viewers_areas_by_name(app):
    township = browser(app, "demo-township")
    page = township.get("/ledger/disputes").text
    picker = re.search(r'<select name="area" class="area-picker">(.*?)</select>', page, re.S).group(1)
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', picker)
    assert options[0] == ("", "全部")
    codes = [c for c, _ in options[1:]]
    assert VILLAGE in codes and VILLAGE2 in codes and all(c.startswith(TOWNSHIP) for c in codes)
    assert FOREIGN_VILLAGE not in codes
    assert all(not re.search(r"\d{6}", label) for _, label in options)  # names, never codes
    chosen = township.get(f"/ledger/disputes?area={VILLAGE}").text
    assert re.search(rf'<option value="{VILLAGE}" selected>', chosen)


def test_filters_never_reach_outside_the_viewers_scope(app, client, at):
    foreign = register(client, name="demo-district", area=FOREIGN_VILLAGE)
    township = browser(app, "demo-township")
    for path in ("/ledger/disputes", "/ledger/disputes.csv", "/ledger/disputes.xlsx"):
        assert township.get(f"{path}?area={FOREIGN_VILLAGE}&sort=created").status_code == 403
    everything = "&".join(("since=2026-12-01", "until=2026-12-31", "sort=area", "dir=desc"))
    assert foreign not in township.get(f"/ledger/disputes?{everything}").text
    assert foreign not in csv_ids(township, f"/ledger/disputes.csv?{everything}")
    assert foreign in csv_ids(browser(app, "demo-district"), f"/ledger/disputes.csv?{everything}")


# -- the ledger (台账) -------------------------------------------------------------------------------------------

LEDGER_ROW = re.compile(r'<tr data-round="([^"]+)"')


def test_the_ledger_sorts_by_a_heading_across_pages_and_in_its_export(app, monkeypatch):
    monkeypatch.setitem(app.config, "PAICHA_LEDGER_PAGE_SIZE", 5)
    district = browser(app, "demo-district")
    base = "/ledger/ledger?since=2026-06-01&until=2026-12-31"
    exported = list(csv.reader(io.StringIO(district.get(
        base.replace("ledger?", "ledger.csv?") + "&sort=due&dir=desc").data.decode("utf-8-sig"))))
    header, rows = exported[0], exported[1:]
    assert len(rows) > 10
    due, rid = header.index("due"), header.index("round_id")
    assert [(r[due], r[rid]) for r in rows] == sorted(((r[due], r[rid]) for r in rows), reverse=True)
    shown = []
    for n in (1, 2, 3):
        page = district.get(f"{base}&sort=due&dir=desc&page={n}").text
        shown += LEDGER_ROW.findall(page)
    assert shown == [r[rid] for r in rows[:15]]  # page after page, the export's order
    assert 'aria-sort="descending"' in page and re.search(r'rel="next" href="[^"]*sort=due', page)
    own = district.get(base).text  # the ledger's own order: newest period first, marked as such
    assert re.search(r'class="sort sorted"[^>]*aria-sort="descending">排查轮次 ▼', own)


def test_the_ledger_refuses_an_order_it_does_not_offer(app):
    district = browser(app, "demo-district")
    for query in ("sort=title", "sort=due&dir=down", "sort=round_id"):
        for path in ("/ledger/ledger", "/ledger/ledger.csv", "/ledger/ledger.xlsx"):
            r = district.get(f"{path}?{query}")
            assert r.status_code == 400 and "此列表不能按" in r.text, (path, query)


def test_the_ledger_area_picker_lists_townships_and_their_villages_by_name(app):
    district = browser(app, "demo-district")
    page = district.get("/ledger/ledger").text
    picker = re.search(r'<select name="area" class="area-picker">(.*?)</select>', page, re.S).group(1)
    codes = re.findall(r'<option value="(\d+)"', picker)
    assert TOWNSHIP in codes and VILLAGE in codes and FOREIGN_VILLAGE in codes
    assert codes.index(TOWNSHIP) < codes.index(VILLAGE) < codes.index(VILLAGE2)
    assert len(district.get(f"/ledger/ledger?area={VILLAGE}").text) > 0
    assert re.search(rf'<option value="{VILLAGE}" selected>', district.get(f"/ledger/ledger?area={VILLAGE}").text)


# -- notices, the log of openings, search -----------------------------------------------------------------------

NOTICE_ROW = re.compile(r'<tr data-notice="[^"]+" data-state="[^"]+"><td>[^<]*</td><td>[^<]*</td>\s*<td><a [^>]*>[^<]*</a></td>\s*'
                        r'<td>[^<]*</td><td>[^<]*</td>\s*<td>([^<]*)</td>')


def test_the_notices_sort_by_deadline_and_pick_their_area_by_name(app):
    district = browser(app, "demo-district")
    token = re.search(r'name="csrf_token" value="([^"]+)"', district.get("/ledger/notice").text).group(1)
    for days, target in ((9, VILLAGE), (3, VILLAGE2), (6, TOWNSHIP)):
        r = district.post("/ledger/notice", data={
            "csrf_token": token, "target_area": target, "kind": "routine", "priority": "general", "method": "online",
            "subject": f"排查督办 {days}", "body": "请按期答复。", "deadline": f"2027-02-{days:02d}"})
        assert r.status_code in (200, 302), r.text[:300]
    ascending = NOTICE_ROW.findall(district.get(f"/ledger/notices?area={TOWNSHIP}&sort=deadline&dir=asc").text)
    assert len(ascending) >= 3 and ascending == sorted(ascending)
    descending = NOTICE_ROW.findall(district.get(f"/ledger/notices?area={TOWNSHIP}&sort=deadline&dir=desc").text)
    assert descending == sorted(ascending, reverse=True)
    page = district.get(f"/ledger/notices?area={VILLAGE}").text
    assert re.search(rf'<option value="{VILLAGE}" selected>', page)
    r = district.get("/ledger/notices?sort=body")
    assert r.status_code == 400 and "此列表不能按" in r.text


def test_the_log_of_openings_narrows_to_an_area_and_sorts(app, client, at):
    own, foreign = register(client), register(client, name="demo-district", area=FOREIGN_VILLAGE)
    district = browser(app, "demo-district")
    for matter in (own, foreign):
        assert district.get(f"/ledger/dispute/{matter}").status_code == 200
    everything = district.get("/ledger/access-log").text
    assert own in everything and foreign in everything
    narrowed = district.get(f"/ledger/access-log?area={TOWNSHIP}").text
    assert own in narrowed and foreign not in narrowed
    by_matter = re.findall(r'<tr data-matter="([^"]+)"', district.get("/ledger/access-log?sort=matter&dir=asc").text)
    assert by_matter == sorted(by_matter)
    assert district.get("/ledger/access-log?sort=unmasked").status_code == 400
    assert browser(app, "demo-township").get(f"/ledger/access-log?area={TOWNSHIP}").status_code == 403


def test_search_picks_its_area_by_name_within_the_viewers_scope(app):
    township = browser(app, "demo-township")
    page = township.get(f"/ledger/search?q=%E5%BC%A0&area={VILLAGE}").text
    assert re.search(rf'<option value="{VILLAGE}" selected>', page)
    assert FOREIGN_VILLAGE not in page
    assert township.get(f"/ledger/search?q=%E5%BC%A0&area={FOREIGN_VILLAGE}").status_code == 403


def test_the_ledger_counts_each_child_area_and_drills_down_with_the_filters(app):
    district = browser(app, "demo-district")
    query = "since=2026-06-01&until=2026-12-31&level=village"
    page = district.get(f"/ledger/ledger?area={TOWNSHIP}&{query}").text
    children = re.findall(r'<a class="child" data-area="(\d+)" href="([^"]+)">[^<]+</a><span class="count">（(\d+)）</span>', page)
    assert {c for c, _, _ in children} >= {VILLAGE, VILLAGE2}
    total = int(re.search(r"合计: (\d+)", page).group(1))
    assert total == sum(int(n) for _, _, n in children) > 0  # village rounds: all in the villages
    for code, href, n in children[:2]:
        href = href.replace("&amp;", "&")
        assert "level=village" in href and f"area={code}" in href
        assert int(re.search(r"合计: (\d+)", district.get(href).text).group(1)) == int(n)


def test_the_disputes_list_counts_what_its_filters_keep(app, matters, monkeypatch):
    monkeypatch.setitem(app.config, "PAICHA_LEDGER_PAGE_SIZE", 2)
    district = browser(app, "demo-district")
    base = f"/ledger/disputes?area={VILLAGE}&since=2026-12-20&until=2026-12-31&category=homestead"
    everything = csv_ids(district, base.replace("disputes?", "disputes.csv?"))
    page = district.get(base).text
    assert f"合计: {len(everything)}" in page
    pages = -(-len(everything) // 2)
    assert f"/ {pages}" in page and (pages == 1 or 'rel="last"' in page)
    assert district.get(f"{base}&page={pages + 5}").status_code == 302  # past the end: to the last page
    narrowed = f"{base}&stage=registered&overdue=1"
    kept = csv_ids(district, narrowed.replace("disputes?", "disputes.csv?"))
    assert set(matters) - {matters[1]} <= set(kept) and matters[1] not in kept
    assert f"合计: {len(kept)}" in district.get(narrowed).text


def test_the_dashboards_notices_say_how_many_there_are_and_link_to_all(app):
    district = browser(app, "demo-district")
    token = re.search(r'name="csrf_token" value="([^"]+)"', district.get("/ledger/notice").text).group(1)
    for n in range(4):
        r = district.post("/ledger/notice", data={
            "csrf_token": token, "target_area": VILLAGE, "kind": "routine", "priority": "general", "method": "online",
            "subject": f"督办 {n}", "body": "请按期答复。", "deadline": "2027-03-01"})
        assert r.status_code in (200, 302)
    page = district.get("/ledger/").text
    shown = len(re.findall(r'<tr data-notice=', page))
    total = int(re.search(r'id="notices-count">共 (\d+) 件，显示 (\d+) 件。', page).group(1))
    from server.interfaces.ledger.views import NOTICES_SHOWN
    assert shown == NOTICES_SHOWN and total >= 4
    assert re.search(r'id="notices-count">[^<]*<a href="/ledger/notices[^"]*">查看全部</a>', page)
    listed_total = re.search(r"<h2>[^<(]*\((\d+)\)</h2>", district.get("/ledger/notices").text)
    assert listed_total and int(listed_total.group(1)) == total


def test_search_results_sort_by_time_both_ways(app, client, at):
    made = [register(client, when=START + dt.timedelta(days=n)) for n in range(3)]  # each 宅基地边界争议
    district = browser(app, "demo-district")
    found = lambda url: re.findall(r'<tr data-id="([^"]+)">', district.get(url).text)
    url = f"/ledger/search?q=%E5%AE%85%E5%9F%BA%E5%9C%B0%E8%BE%B9%E7%95%8C&area={VILLAGE}"
    oldest_first = [i for i in found(url + "&sort=at&dir=asc") if i in made]
    assert oldest_first == made
    assert [i for i in found(url) if i in made] == made[::-1]  # its own order: newest first
    page = district.get(url + "&sort=at&dir=asc").text
    assert 'aria-sort="ascending"' in page and '<input type="hidden" name="sort" value="at">' in page
    r = district.get(url + "&sort=title")
    assert r.status_code == 400 and "此列表不能按" in r.text
