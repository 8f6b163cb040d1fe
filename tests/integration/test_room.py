"""The online supervision room (/ledger/room) and its live stream (/ledger/room/stream), on a district
of two townships written by sync with the clock frozen: every dispute figure's total and per-township
cell against the test's own count from the documents it wrote, every number's link against the
records it lists, the notices' figures, the thresholds' alerts; the stream sends the figures at
once and again after a write; a township officer sees only the township (tries to break it).
SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import html
import json
import re
import threading

import pytest

from server.core import clock
from server.core.clock import SHANGHAI

from .test_ledger import basic, browser as logged_in, put_in_time_order

PW = "demo-password"
DISTRICT, T1, T2 = "610402", "610402001", "610402002"
V1, V2 = "610402001001", "610402002001"
TODAY = dt.datetime(2031, 3, 20, 10, 0, tzinfo=SHANGHAI)
ACCEPT_DAYS, HANDLE_DAYS = 15, 60
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
OPEN = ("registered", "mediating", "escalated")


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


# (id, village, registered, risk, status, accepted (or None), people_involved (or None))
DISPUTES = [
    ("d-new-low", V1, "2031-03-20", "low", "registered", None, None),
    ("d-new-high", V2, "2031-03-20", "high", "registered", None, None),
    ("d-acc-late", V1, "2031-02-01", "low", "registered", None, None),
    ("d-acc-late-2", V2, "2031-02-20", "medium", "mediating", None, None),
    ("d-acc-fresh", V1, "2031-03-10", "low", "registered", None, None),
    ("d-key", V2, "2031-03-10", "key", "mediating", "2031-03-11", None),
    ("d-key-done", V1, "2031-03-01", "high", "resolved", "2031-03-02", None),
    ("d-collective", V2, "2031-03-15", "medium", "registered", "2031-03-15", 8),
    ("d-small-group", V1, "2031-03-15", "low", "registered", "2031-03-15", 4),
    ("d-handle-late", V1, "2030-12-01", "medium", "mediating", "2030-12-02", None),
]
NOTICES = [("notice-late", T2, "2031-03-01"), ("notice-fresh", T1, "2031-04-01")]


@pytest.fixture(scope="module")
def site(app):
    """Areas and accounts; the disputes and notices written by sync, each at its own time."""
    from server.core.accounts import add_account
    from server.core.areas import check_area, import_areas
    from server.core.db import db

    with app.app_context():
        import_areas([check_area(DISTRICT, "王益区"), check_area(T1, "七一路街道"), check_area(T2, "黄堡镇"),
                      check_area(V1, "一村"), check_area(V2, "二村")])
        add_account("sup", PW, "district_supervisor", DISTRICT, "孙督查")
        add_account("staff1", PW, "township_staff", T1, "张强")
        add_account("cadre1", PW, "village_cadre", V1, "李娟")
        add_account("cadre2", PW, "village_cadre", V2, "王刚")
        db.session.commit()
    client = app.test_client()
    events = []
    for doc_id, village, day, risk, status, accepted, people in DISPUTES:
        who = "cadre1" if village == V1 else "cadre2"
        doc = {"type": "dispute", "area": village, "created_by": who, "created_at": at(day).isoformat(),
               "summary": f"（测试）{doc_id}", "parties": [{"name": "甲某", "role": "applicant"}],
               "category": "neighbourhood", "risk_level": risk, "status": status}
        if accepted:
            doc["accepted_at"] = at(accepted, 11).isoformat()
        if status == "resolved":
            doc["resolved_at"], doc["outcome"] = at(day, 15).isoformat(), "已调解"
        if people:
            doc["people_involved"] = people
        events.append((at(day), who, doc_id, doc))
    for doc_id, township, deadline in NOTICES:
        doc = {"type": "supervision_notice", "area": township, "target_area": township, "created_by": "sup",
               "created_at": at("2031-02-20").isoformat(), "subject": "请加快化解", "body": "限期办理", "deadline": deadline,
               "issued_by": "孙督查", "status": "issued", "kind": "routine", "priority": "general", "method": "online"}
        events.append((at("2031-02-20"), "sup", doc_id, doc))
    put_in_time_order(client, events)
    return app


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: TODAY)


# -- the test's own count, from the documents it wrote, by the definitions' words ---------------------------

def expected(key: str, prefix: str) -> set[str]:
    today = TODAY.date()
    out = set()
    for doc_id, village, day, risk, status, accepted, people in DISPUTES:
        if not village.startswith(prefix):
            continue
        registered = dt.date.fromisoformat(day)
        is_open = status in OPEN
        accepted_on = dt.date.fromisoformat(accepted) if accepted else None
        finished = status == "resolved"
        if key == "new_today" and registered == today:
            out.add(doc_id)
        elif key == "accept_overdue" and accepted_on is None and registered + dt.timedelta(days=ACCEPT_DAYS) < today:
            out.add(doc_id)
        elif key in ("handle_overdue", "reply_overdue") and accepted_on and not finished \
                and accepted_on + dt.timedelta(days=HANDLE_DAYS) < today:
            out.add(doc_id)
        elif key == "key_open" and is_open and risk in ("high", "key"):
            out.add(doc_id)
        elif key == "collective_open" and is_open and (people or 0) >= 5:
            out.add(doc_id)
    return out


DISPUTE_FIGURES = ("new_today", "accept_overdue", "handle_overdue", "reply_overdue", "key_open", "collective_open")


def total_of(page: str, key: str) -> str:
    found = re.search(rf'data-total="{key}">([^<]*)</a>', page)
    assert found, key
    return found.group(1).strip()


def cell_of(page: str, key: str, area: str) -> tuple[str, str]:
    """(the number, its link) in the per-area table."""
    found = re.search(rf'data-cell="{key}" data-area="{area}"><a href="([^"]+)">([^<]*)</a>', page)
    assert found, (key, area)
    return found.group(2).strip(), html.unescape(found.group(1))


def listed(client, link: str) -> set[str]:
    r = client.get(link)
    assert r.status_code == 200, (link, r.status_code)
    if "room=" in link:  # every record listed is one the figure counts
        assert "✗" not in r.text, link
    return set(re.findall(r'href="/ledger/dispute/([^"?]+)"', r.text))


@pytest.mark.parametrize("key", DISPUTE_FIGURES)
def test_each_dispute_figure_counts_what_its_definition_says(site, frozen, key):
    sup = logged_in(site, "sup")
    page = sup.get("/ledger/room").text
    assert total_of(page, key) == str(len(expected(key, DISTRICT)))
    for township in (T1, T2):
        number, link = cell_of(page, key, township)
        assert number == str(len(expected(key, township))), (key, township)
        assert listed(sup, link) == expected(key, township)
    assert expected("new_today", DISTRICT) == {"d-new-low", "d-new-high"}  # the fixture is what it says
    assert expected("collective_open", DISTRICT) == {"d-collective"}


def test_every_figure_has_its_definition_and_a_link(site, frozen):
    from server.services.ledger import room

    page = logged_in(site, "sup").get("/ledger/room").text
    assert len(room.SPECS) >= 13
    for spec in room.SPECS:
        card = re.search(rf'<section class="figure[^"]*" id="fig-{spec.key}".*?</section>', page, re.S)
        assert card, spec.key
        assert '<p class="definition">' in card.group(0) and 'href="/ledger/' in card.group(0)
    assert "网上督查室" in page and "王益区" in page


def test_rates_over_the_window_and_their_records(site, frozen):
    """Window 2031-02-19..03-20: one matter finished in it (d-key-done, resolved 03-01, never
    reopened, no evaluation): 一次性化解率 1/1, 群众满意率 0/1 (not evaluated counts as not satisfied)."""
    sup = logged_in(site, "sup")
    page = sup.get("/ledger/room").text
    assert total_of(page, "one_time") == "100.0%" and total_of(page, "satisfaction") == "0.0%"
    assert re.search(r'data-basis="one_time">1 / 1<', page) and re.search(r'data-basis="satisfaction">0 / 1<', page)
    number, link = cell_of(page, "satisfaction", T1)
    assert number == "0.0%" and listed(sup, link) == {"d-key-done"}
    assert cell_of(page, "satisfaction", T2)[0] == "—"  # nothing finished there: no rate, no alert
    assert re.search(rf'class="num alert" data-cell="satisfaction" data-area="{T1}"', page)
    assert re.search(rf'class="num" data-cell="satisfaction" data-area="{T2}"', page)


def test_the_room_in_english(site, frozen):
    page = logged_in(site, "sup").get("/ledger/room?lang=en").text
    assert "Supervision room" in page and "Open collective matters" in page and "Acceptance overdue" in page
    assert "Matters still neither accepted nor rejected after the acceptance deadline." in page
    assert "网上督查室" not in page.split("<main>")[1]


def test_collective_follows_the_setting(site, frozen):
    """PAICHA_MATTER_COLLECTIVE_PEOPLE, as the matter's file says 集体: 8 people are collective at 5, not at 9."""
    sup = logged_in(site, "sup")
    site.config["PAICHA_MATTER_COLLECTIVE_PEOPLE"] = 9
    try:
        page = sup.get("/ledger/room").text
        listing = listed(sup, "/ledger/disputes?room=collective_open")
    finally:
        site.config["PAICHA_MATTER_COLLECTIVE_PEOPLE"] = 5
    assert total_of(page, "collective_open") == "0" and listing == set()
    assert "涉及人数 9 人及以上" in page
    assert listed(sup, "/ledger/disputes?room=collective_open") == {"d-collective"}


def test_notice_figures_and_their_lists(site, frozen):
    sup = logged_in(site, "sup")
    page = sup.get("/ledger/room").text
    assert total_of(page, "notices_open") == "2" and total_of(page, "notices_overdue") == "1"
    number, link = cell_of(page, "notices_overdue", T2)
    assert number == "1"
    listing = sup.get(link)
    assert listing.status_code == 200 and "notice-late" in listing.text and "notice-fresh" not in listing.text
    number, link = cell_of(page, "notices_open", T1)
    listing = sup.get(link).text
    assert number == "1" and "notice-fresh" in listing and "notice-late" not in listing
    assert '<option value="open" selected>在办（未办结、未撤回）</option>' in listing  # the filter says what it shows


def test_alerts_follow_the_thresholds(site, frozen):
    page = logged_in(site, "sup").get("/ledger/room").text
    # the defaults: an overdue acceptance alerts at 1; ten open key matters, not one
    assert re.search(r'<section class="figure alert" id="fig-accept_overdue"', page)
    assert re.search(r'<section class="figure" id="fig-key_open"', page)
    assert 'id="room-alerts" class="alerting"' in page
    site.config["PAICHA_ROOM_ALERTS"] = "key_open=1,accept_overdue=off"
    try:
        page = logged_in(site, "sup").get("/ledger/room").text
    finally:
        site.config["PAICHA_ROOM_ALERTS"] = ""
    assert re.search(r'<section class="figure alert" id="fig-key_open"', page)
    assert re.search(r'<section class="figure" id="fig-accept_overdue"', page)
    assert re.search(rf'class="num alert" data-cell="key_open" data-area="{T2}"', page)
    assert re.search(rf'class="num" data-cell="key_open" data-area="{T1}"', page)


# -- scope: a township officer sees the township, and only it --------------------------------------------------

def test_township_staff_get_their_township_only(site, frozen):
    staff = logged_in(site, "staff1")
    page = staff.get("/ledger/room")
    assert page.status_code == 200 and "七一路街道" in page.text
    for key in DISPUTE_FIGURES:
        assert total_of(page.text, key) == str(len(expected(key, T1))), key
    assert f'data-area="{V1}"' in page.text and f'data-area="{V2}"' not in page.text
    assert total_of(page.text, "notices_overdue") == "0"  # the other township's overdue notice
    assert listed(staff, "/ledger/disputes?room=new_today") == expected("new_today", T1)


@pytest.mark.parametrize("path", [f"/ledger/room?area={T2}", f"/ledger/room?area={DISTRICT}",
                                  f"/ledger/room/stream?area={T2}", f"/ledger/disputes?room=key_open&area={T2}",
                                  f"/ledger/notices?state=open&area={T2}"])
def test_township_staff_cannot_reach_another_township(site, frozen, path):
    assert logged_in(site, "staff1").get(path).status_code == 403


@pytest.mark.parametrize("path", ["/ledger/room?area=99", "/ledger/room?area=610402009",
                                  "/ledger/disputes?room=nonsense", "/ledger/room/stream?area=abc"])
def test_bad_parameters_are_4xx(site, frozen, path):
    assert logged_in(site, "sup").get(path).status_code in (400, 404)


def test_anonymous_and_village_cadres_get_nothing(site):
    anonymous = site.test_client()
    for path in ("/ledger/room", "/ledger/room/stream"):
        r = anonymous.get(path)
        assert r.status_code == 302 and "/ledger/login" in r.headers["Location"]
    client = site.test_client()
    token = CSRF.search(client.get("/ledger/login").text).group(1)
    assert client.post("/ledger/login", data={"name": "cadre1", "password": PW, "csrf_token": token}).status_code == 403


# -- live ----------------------------------------------------------------------------------------------------

def read_event(chunks) -> dict:
    """The next `figures` event of a Server-Sent Events stream."""
    text = ""
    for chunk in chunks:
        text += chunk.decode() if isinstance(chunk, bytes) else chunk
        found = re.search(r"event: figures\ndata: (.*)\n\n", text)
        if found:
            return json.loads(found.group(1))
    raise AssertionError(f"the stream ended: {text!r}")


def test_the_stream_sends_the_figures_and_again_after_a_write(site, frozen):
    """Last in the file: it adds a dispute that the tests above do not count."""
    sup = logged_in(site, "sup")
    response = sup.get("/ledger/room/stream", buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert response.headers["X-Accel-Buffering"] == "no"
    chunks = iter(response.response)
    try:
        first = read_event(chunks)["figures"]
        assert first["new_today"]["total"] == 2 and first["new_today"]["areas"][T1] == 1
        assert first["accept_overdue"]["alert"] is True
        doc = {"type": "dispute", "area": V1, "created_by": "cadre1", "created_at": TODAY.isoformat(),
               "summary": "（测试）直播", "parties": [{"name": "丙某", "role": "applicant"}], "category": "neighbourhood",
               "risk_level": "key", "status": "registered", "people_involved": 12}
        # from another thread, as a phone's request would be (this one holds the stream's contexts)
        answers = []
        writer = threading.Thread(target=lambda: answers.append(site.test_client().put(
            "/paicha/d-live", json=doc, headers={**basic("cadre1"), "X-Paicha-Device": "p"})))
        writer.start()
        writer.join(30)
        assert answers and answers[0].status_code == 201, answers and answers[0].text
        second = read_event(chunks)["figures"]
        assert second["new_today"]["total"] == 3 and second["new_today"]["areas"][T1] == 2
        assert second["key_open"]["areas"][T1] == first["key_open"]["areas"][T1] + 1
        assert second["collective_open"]["total"] == first["collective_open"]["total"] + 1
    finally:
        response.close()
