"""The supervision loop (督办) through the real interfaces, on the demo district: the district issues,
the unit replies (the township on the web, a village cadre by sync or the API), the district chases
and closes; the notice page, the dispute file, the counts per area and the API follow; the state
is derived at the frozen moment (the deadline's day is not overdue, the next day is). Then attempts to
get around the rules. SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from collections import Counter

import pytest

from server.core import clock
from server.core.clock import SHANGHAI

from .test_ledger import basic, browser, csrf

pytestmark = pytest.mark.demo

DISTRICT, TOWNSHIP, OTHER_TOWNSHIP = "990101", "990101001", "990101002"
VILLAGE, VILLAGE2 = "990101001001", "990101001002"
DISPUTE = f"dispute-{VILLAGE}-01"
START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
DEADLINE = "2026-12-05"
NOTICE_LINK = re.compile(r'href="/ledger/notice/([^"?]+)"')
ISSUED = re.compile(r'href="/ledger/notice/(notice-[^"?]+)"><code>')


@pytest.fixture
def at(monkeypatch):
    """Set the server's clock (Asia/Shanghai) for the rest of the test."""
    def move(moment: dt.datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    move(START)
    return move


def issue(district, target: str, **fields) -> str:
    form = {"target_area": target, "subject": "关于东坡土地纠纷的督办", "body": "请于期限内化解并书面答复。",
            "deadline": DEADLINE, "issued_by": "示范区平安办", "kind": "routine", "priority": "general",
            "method": "online", "csrf_token": csrf(district, "/ledger/notice"), **fields}
    r = district.post("/ledger/notice", data=form)
    assert r.status_code == 200, r.text[:500]
    return ISSUED.search(r.text).group(1)


def post_form(client, notice_id: str, action: str, **fields):
    token = csrf(client, f"/ledger/notice/{notice_id}")
    return client.post(f"/ledger/notice/{notice_id}/{action}", data={**fields, "csrf_token": token})


def sync_reply(client, name: str, notice_id: str, area: str, body: str = "已入户调解，双方达成协议。",
               when: dt.datetime = START):
    reply_id = f"reply-{notice_id}~{uuid.uuid4().hex[:8]}"
    doc = {"type": "notice_reply", "area": area, "notice_id": notice_id, "body": body, "created_by": name,
           "created_at": when.isoformat(), "replied_at": when.isoformat()}
    return reply_id, client.put(f"/paicha/{reply_id}", json=doc, headers=basic(name))


def notice_doc(client, notice_id: str, who: str = "demo-district") -> dict:
    r = client.get(f"/paicha/{notice_id}", headers=basic(who))
    assert r.status_code == 200, r.text
    return r.json


def text_of(page: str, element_id: str) -> str:
    """The text of one element (by id) of a page, tags stripped."""
    start = page.index(f'id="{element_id}"')
    end = page.index("</table>" if "<table" in page[start - 80:start] else "</dl>", start)
    return html.unescape(re.sub(r"<[^>]+>", " ", page[start:end]))


# -- an independent count: every notice and reply of the store, the state worked out here ----------------

def expected_states(client, today: dt.date) -> dict[str, str]:
    rows = client.get("/paicha/_all_docs?include_docs=true", headers=basic("demo-admin")).json["rows"]
    docs = [r["doc"] for r in rows if "doc" in r]
    notices = {d["_id"]: d for d in docs if d.get("type") == "supervision_notice"}
    answered = {d["notice_id"] for d in docs if d.get("type") == "notice_reply"
                and d["notice_id"] in notices and d["area"] == notices[d["notice_id"]]["area"]}
    states = {}
    for notice_id, d in notices.items():
        if d["status"] in ("closed", "withdrawn"):
            states[notice_id] = d["status"]
        elif notice_id in answered:
            states[notice_id] = "replied"
        elif today > dt.date.fromisoformat(d["deadline"]):
            states[notice_id] = "overdue"
        else:
            states[notice_id] = "issued"
    return {k: (v, notices[k]["area"]) for k, v in states.items()}


COUNT_ROW = re.compile(r'<tr data-area="(\d+)"( data-own="1")?>(.*?)</tr>', re.S)
COUNT_CELL = re.compile(r'<td data-state="(\w+)"><a href="([^"]+)">(\d+)</a></td>')


def page_counts(client, area: str) -> dict[tuple[str, bool], dict[str, int]]:
    r = client.get(f"/ledger/notices?area={area}")
    assert r.status_code == 200
    table = r.text[r.text.index('id="notice-counts"'):]
    table = table[:table.index("</table>")]
    return {(code, bool(own)): {state: int(n) for state, _link, n in COUNT_CELL.findall(cells)}
            for code, own, cells in COUNT_ROW.findall(table)}


def assert_counts_match(client, district_client, today: dt.date) -> None:
    states = expected_states(client, today)
    for area in (DISTRICT, TOWNSHIP):
        shown = page_counts(district_client, area)
        width = len(area) + 3
        want: dict[tuple[str, bool], Counter] = {}
        for state, where in states.values():
            if not where.startswith(area):
                continue
            key = (where[:width], False) if len(where) >= width else (area, True)
            want.setdefault(key, Counter())[state] += 1
        for key, counts in shown.items():
            expected = want.get(key, Counter())
            for state in ("issued", "replied", "overdue", "closed"):
                assert counts[state] == expected[state], (area, key, state, counts, dict(expected))
            assert counts["total"] == sum(expected.values()), (area, key)
        assert set(want) <= set(shown), (area, set(want) - set(shown))


def listed(client, area: str, **filters) -> list[str]:
    query = "&".join(f"{k}={v}" for k, v in {"area": area, **filters}.items())
    r = client.get(f"/ledger/notices?{query}")
    assert r.status_code == 200, r.text[:300]
    table = r.text[r.text.index('id="notices-table"'):]
    return re.findall(r'data-notice="([^"]+)"', table[:table.index("</table>")])


def api_notices(client, name: str, **query) -> dict[str, dict]:
    r = client.get("/api/v1/notices", headers=basic(name), query_string={"limit": 200, **query})
    assert r.status_code == 200, r.json
    return {n["id"]: n for n in r.json["items"]}


# -- the loop --------------------------------------------------------------------------------------------

def test_the_supervision_loop_as_an_office_works_it(app, client, at):
    district, township = browser(app, "demo-district"), browser(app, "demo-township")
    today = START.date()
    assert_counts_match(client, district, today)

    # the issue form names the scope's townships and villages, and offers kinds, priorities, methods in words
    form = district.get(f"/ledger/notice?area={TOWNSHIP}&dispute_id={DISPUTE}").text
    for words in ("示范镇", "东山镇", "示范村一", "专项督办", "重点", "实地督办", "约谈"):
        assert words in form
    assert f'<option value="{TOWNSHIP}" selected>' in form
    before = page_counts(district, DISTRICT)[(TOWNSHIP, False)]

    # the district issues a key topical notice to the township about a dispute, and a routine one to the village
    to_township = issue(district, TOWNSHIP, kind="topical", priority="key", method="on_site", dispute_id=DISPUTE)
    to_village = issue(district, VILLAGE, dispute_id=DISPUTE, subject="请示范村一答复调解进展")
    doc = notice_doc(client, to_township)
    assert (doc["kind"], doc["priority"], doc["method"], doc["status"], doc["dispute_id"]) == (
        "topical", "key", "on_site", "issued", DISPUTE)
    after = page_counts(district, DISTRICT)[(TOWNSHIP, False)]
    assert after["issued"] == before["issued"] + 2 and after["total"] == before["total"] + 2
    assert_counts_match(client, district, today)

    # the township replies on the web (its staff see the reply form, not the supervisor's)
    page = township.get(f"/ledger/notice/{to_township}").text
    assert 'id="reply-form"' in page and 'id="chase-form"' not in page and 'id="close-form"' not in page
    at(START + dt.timedelta(hours=3))
    r = post_form(township, to_township, "reply", body="已组织镇村两级联合调解，双方签订协议。")
    assert r.status_code == 302, r.text[:500]
    assert "答复已提交" in township.get(r.headers["Location"]).text

    # a village cadre replies by sync, as the phone does
    at(START + dt.timedelta(hours=4))
    _, r = sync_reply(client, "demo-village", to_village, VILLAGE, when=START + dt.timedelta(hours=4))
    assert r.status_code == 201, r.json
    counts = page_counts(district, DISTRICT)[(TOWNSHIP, False)]
    assert counts["replied"] == before["replied"] + 2 and counts["issued"] == before["issued"]
    assert_counts_match(client, district, today)

    # the district chases, then closes
    at(START + dt.timedelta(days=1))
    r = post_form(district, to_township, "chase", method="phone", note="请补充协议履行情况。")
    assert r.status_code == 302, r.text[:500]
    at(START + dt.timedelta(days=2))
    r = post_form(district, to_township, "close", close_note="协议已履行，督办办结。")
    assert r.status_code == 302, r.text[:500]
    doc = notice_doc(client, to_township)
    assert doc["status"] == "closed" and doc["closed_at"].startswith("2026-12-03T09:00:00")
    assert doc["chases"] == [{"at": "2026-12-02T09:00:00+08:00", "by": "demo-district", "method": "phone",
                              "note": "请补充协议履行情况。"}]
    counts = page_counts(district, DISTRICT)[(TOWNSHIP, False)]
    assert counts["closed"] == before["closed"] + 1 and counts["replied"] == before["replied"] + 1
    assert_counts_match(client, district, START.date() + dt.timedelta(days=2))

    # the notice page: everything in order, in Chinese words, no raw codes; no forms once closed
    page = district.get(f"/ledger/notice/{to_township}").text
    facts, timeline = text_of(page, "notice-facts"), text_of(page, "timeline")
    for words in ("示范镇", "专项督办", "重点", "实地督办", "已办结", "2026-12-05", "示范区平安办", DISPUTE):
        assert words in facts, words
    for code in ("topical", "on_site", "closed", "key", "issued"):
        assert not re.search(rf"\b{code}\b", facts + timeline), code
    events = [m for m in ("下发", "答复", "催办", "办结") if m in timeline]
    assert events == ["下发", "答复", "催办", "办结"]
    assert [timeline.index(w) for w in ("下发", "已组织镇村两级联合调解", "请补充协议履行情况", "协议已履行")] == sorted(
        timeline.index(w) for w in ("下发", "已组织镇村两级联合调解", "请补充协议履行情况", "协议已履行"))
    assert "电话督办" in timeline and "赵敏（示范镇）" in timeline  # the reply's writer, by name
    assert 'id="chase-form"' not in page and 'id="reply-form"' not in page
    assert "Closed" in district.get(f"/ledger/notice/{to_township}?lang=en").text
    district.get("/ledger/?lang=zh")

    # a closed notice takes no more chases or replies (409, with the reason on the page)
    r = post_form(district, to_township, "chase", method="phone", note="再催")
    assert r.status_code == 409 and "已办结或已撤回" in r.text
    r = client.post(f"/api/v1/notices/{to_township}/replies", headers=basic("demo-township"), json={"body": "补充"})
    assert r.status_code == 409 and r.json["code"] == "notice_not_open"

    # the dispute's file lists every notice about it; the dashboard links to them
    dispute_page = district.get(f"/ledger/dispute/{DISPUTE}").text
    section = dispute_page[dispute_page.index('id="dispute-notices"'):]
    assert {to_township, to_village} <= set(NOTICE_LINK.findall(section[:section.index("</section>")]))
    assert to_township in NOTICE_LINK.findall(district.get("/ledger/").text)

    # the lists filter by derived state and kind, and each count links to its list
    assert to_township in listed(district, TOWNSHIP, state="closed")
    assert to_township not in listed(district, TOWNSHIP, state="replied")
    assert to_village in listed(district, TOWNSHIP, state="replied") and to_village in listed(district, VILLAGE)
    assert to_township in listed(district, TOWNSHIP, kind="topical")
    assert to_village not in listed(district, TOWNSHIP, kind="topical")
    r = district.get(f"/ledger/notices?area={DISTRICT}")
    links = {state: html.unescape(link) for state, link, _n in COUNT_CELL.findall(
        r.text[r.text.index(f'data-area="{TOWNSHIP}"'):].split("</tr>")[0])}
    for state in ("issued", "replied", "overdue", "closed"):
        page_rows = district.get(links[state] + "&page=1").text
        shown = page_counts(district, DISTRICT)[(TOWNSHIP, False)][state]
        assert f"({shown})" in page_rows  # the list's total is the count that linked to it

    # the field app: the village's notice with its state and replies
    mine = api_notices(client, "demo-village")
    assert mine[to_village]["state"] == "replied" and mine[to_village]["replies"] == 1
    assert not mine[to_village]["replied_late"] and to_township not in mine  # the township's is not the village's


def test_overdue_is_derived_at_the_deadline_boundary(app, client, at):
    district = browser(app, "demo-district")
    notice = issue(district, VILLAGE2, subject="逾期边界")
    at(dt.datetime(2026, 12, 5, 23, 59, tzinfo=SHANGHAI))  # the deadline's last minute: not overdue
    assert api_notices(client, "demo-village2")[notice]["state"] == "issued"
    assert notice in listed(district, TOWNSHIP, state="issued") and notice not in listed(district, TOWNSHIP, state="overdue")
    assert_counts_match(client, district, dt.date(2026, 12, 5))
    at(dt.datetime(2026, 12, 6, 0, 0, tzinfo=SHANGHAI))  # the next day at 00:00 Shanghai: overdue
    assert api_notices(client, "demo-village2")[notice]["state"] == "overdue"
    assert notice in listed(district, TOWNSHIP, state="overdue")
    assert "逾期未答复" in district.get(f"/ledger/notice/{notice}").text
    assert_counts_match(client, district, dt.date(2026, 12, 6))
    # ... a late reply makes it replied, marked as late
    r = client.post(f"/api/v1/notices/{notice}/replies", headers=basic("demo-village2"),
                    json={"id": "reply-late-1", "body": "已补办，逾期原因：村干部外出培训。"})
    assert r.status_code == 201, r.json
    assert r.json["created_by"] == "demo-village2" and r.json["area"] == VILLAGE2 and r.json["notice_id"] == notice
    again = client.post(f"/api/v1/notices/{notice}/replies", headers=basic("demo-village2"),
                        json={"id": "reply-late-1", "body": "已补办，逾期原因：村干部外出培训。"})
    assert again.status_code == 200 and again.json["rev"] == r.json["rev"]  # a retry, not a second reply
    summary = api_notices(client, "demo-village2")[notice]
    assert (summary["state"], summary["replies"], summary["replied_late"]) == ("replied", 1, True)
    page = district.get(f"/ledger/notice/{notice}").text
    assert "已答复" in text_of(page, "notice-facts") and "逾期后答复" in page
    assert_counts_match(client, district, dt.date(2026, 12, 6))


# -- attempts to get around it -------------------------------------------------------------------------

def test_another_village_can_neither_read_nor_answer_a_notice(app, client, at):
    district = browser(app, "demo-district")
    notice = issue(district, VILLAGE, subject="只给示范村一")
    # another village's cadre: not readable by sync nor the API, no reply by either
    assert client.get(f"/paicha/{notice}", headers=basic("demo-village2")).status_code == 404
    assert notice not in api_notices(client, "demo-village2")
    r = client.post(f"/api/v1/notices/{notice}/replies", headers=basic("demo-village2"), json={"body": "冒答"})
    assert r.status_code == 404 and r.json["code"] == "record_not_found"
    _, r = sync_reply(client, "demo-village2", notice, VILLAGE)
    assert r.status_code == 403 and r.json["error"] == "forbidden"
    # a reply filed in its own village but naming the other village's notice answers nothing
    _, r = sync_reply(client, "demo-village2", notice, VILLAGE2, body="挂靠在别村督办下的答复")
    assert r.status_code == 201
    assert api_notices(client, "demo-village")[notice]["replies"] == 0
    page = district.get(f"/ledger/notice/{notice}").text
    assert "挂靠在别村督办下的答复" not in page and "待答复" in page
    assert_counts_match(client, district, START.date())
    # the other township's staff: not on their pages either
    other = app.test_client()
    assert client.get(f"/api/v1/notices?area={VILLAGE}", headers=basic("demo-village2")).status_code == 403
    assert other.get(f"/ledger/notice/{notice}").status_code == 302  # to login


def test_the_district_does_not_reply_and_the_unit_does_not_supervise(app, client, at):
    district, township = browser(app, "demo-district"), browser(app, "demo-township")
    notice = issue(district, TOWNSHIP, subject="角色边界")
    # a supervisor writes no replies: not by sync, the API or the page
    _, r = sync_reply(client, "demo-district", notice, TOWNSHIP)
    assert r.status_code == 403 and "cannot write notice replies" in r.json["reason"]
    r = client.post(f"/api/v1/notices/{notice}/replies", headers=basic("demo-district"), json={"body": "代答"})
    assert r.status_code == 403 and r.json["refusal"] == "role_not_allowed"
    assert 'id="reply-form"' not in district.get(f"/ledger/notice/{notice}").text
    assert post_form(district, notice, "reply", body="代答").status_code == 403
    # township staff do not chase, close or withdraw: not on the page, not by sync
    assert post_form(township, notice, "close", close_note="自行办结").status_code == 403
    assert post_form(township, notice, "withdraw", withdraw_reason="不办了").status_code == 403
    assert post_form(township, notice, "chase", method="phone", note="x").status_code == 403
    doc = notice_doc(client, notice)
    closed = {**doc, "status": "closed", "closed_at": "2026-12-01T10:00:00+08:00"}
    assert client.put(f"/paicha/{notice}", json=closed, headers=basic("demo-township")).status_code == 403
    assert notice_doc(client, notice)["status"] == "issued"
    # withdrawing needs its reason, then the notice is withdrawn and takes nothing more
    r = post_form(district, notice, "withdraw", withdraw_reason="")
    assert r.status_code == 422 and "撤回须填写原因" in r.text
    assert post_form(district, notice, "withdraw", withdraw_reason="下发对象有误").status_code == 302
    assert notice_doc(client, notice)["withdraw_reason"] == "下发对象有误"
    assert notice in listed(district, TOWNSHIP, state="withdrawn")
    assert post_form(township, notice, "reply", body="答复").status_code == 409


def test_chases_and_replies_are_kept_as_written(app, client, at):
    district = browser(app, "demo-district")
    notice = issue(district, VILLAGE, subject="记录不可改")
    assert post_form(district, notice, "chase", method="letter", note="第一次催办").status_code == 302
    assert post_form(district, notice, "chase", method="interview", note="第二次催办").status_code == 302
    doc = notice_doc(client, notice)
    first, second = doc["chases"]
    for chases in ([second], [first, dict(second, note="改过")], [second, first], []):
        r = client.put(f"/paicha/{notice}", json={**doc, "chases": chases}, headers=basic("demo-district"))
        assert r.status_code == 403, chases
    admin = {**doc, "chases": [dict(first, note="管理员也不能改")]+[second]}
    assert client.put(f"/paicha/{notice}", json=admin, headers=basic("demo-admin")).status_code == 403
    forged = dict(second, by="demo-admin", at="2026-12-01T12:00:00+08:00")
    r = client.put(f"/paicha/{notice}", json={**doc, "chases": [first, second, forged]}, headers=basic("demo-district"))
    assert r.status_code == 403 and "own account name" in r.json["reason"]
    assert notice_doc(client, notice)["chases"] == [first, second]
    # a reply is kept as written: its writer can neither edit nor delete it
    reply_id, r = sync_reply(client, "demo-village", notice, VILLAGE, body="原始答复")
    assert r.status_code == 201
    stored = client.get(f"/paicha/{reply_id}", headers=basic("demo-village")).json
    r = client.put(f"/paicha/{reply_id}", json={**stored, "body": "改过的答复"}, headers=basic("demo-village"))
    assert r.status_code == 403 and "further reply" in r.json["reason"]
    r = client.delete(f"/paicha/{reply_id}?rev={stored['_rev']}", headers=basic("demo-village"))
    assert r.status_code == 403
    assert client.get(f"/paicha/{reply_id}", headers=basic("demo-village")).json["body"] == "原始答复"


@pytest.mark.parametrize("action", ["chase", "close", "withdraw", "reply"])
def test_every_form_needs_the_csrf_token(app, client, at, action):
    district = browser(app, "demo-district")
    notice = issue(district, TOWNSHIP, subject="CSRF")
    writer = district if action != "reply" else browser(app, "demo-township")
    fields = {"method": "phone", "note": "x", "close_note": "x", "withdraw_reason": "x", "body": "x"}
    assert writer.post(f"/ledger/notice/{notice}/{action}", data=fields).status_code == 400
    assert writer.post(f"/ledger/notice/{notice}/{action}", data={**fields, "csrf_token": "forged"}).status_code == 400
    assert notice_doc(client, notice)["status"] == "issued" and not notice_doc(client, notice).get("chases")
    assert district.post("/ledger/notice", data={"target_area": TOWNSHIP, "subject": "s", "body": "b",
                                                  "deadline": DEADLINE}).status_code == 400


def test_bad_input_is_a_4xx(app, client, at):
    district = browser(app, "demo-district")
    notice = issue(district, TOWNSHIP, subject="坏输入")
    assert district.get("/ledger/notices?state=bogus").status_code == 400
    assert district.get("/ledger/notices?kind=bogus").status_code == 400
    assert district.get("/ledger/notices?area=99010x").status_code == 400
    assert district.get("/ledger/notice/notice-does-not-exist").status_code == 404
    assert post_form(district, notice, "chase", method="carrier-pigeon").status_code == 400
    token = csrf(district, "/ledger/notice")
    r = district.post("/ledger/notice", data={"target_area": TOWNSHIP, "subject": "s", "body": "b", "deadline": DEADLINE,
                                               "kind": "secret", "csrf_token": token})
    assert r.status_code == 400
    r = district.post("/ledger/notice", data={"target_area": DISTRICT, "subject": "s", "body": "b", "deadline": DEADLINE,
                                               "csrf_token": token})
    assert r.status_code == 400  # the district itself is no notice's target
    township = browser(app, "demo-township")
    assert township.get(f"/ledger/notices?area={OTHER_TOWNSHIP}").status_code == 403
    r = post_form(township, notice, "reply", body="   ")
    assert r.status_code == 422 and "请填写答复内容" in r.text
    for body in ({}, {"body": ""}, {"body": " "}, {"body": "x", "extra": 1}, {"body": "x", "id": "_bad"}, []):
        r = client.post(f"/api/v1/notices/{notice}/replies", headers=basic("demo-township"), json=body)
        assert r.status_code == 400, (body, r.json)
    assert client.get("/api/v1/notices?state=bogus", headers=basic("demo-township")).status_code == 400
    assert client.get("/api/v1/notices?page=0", headers=basic("demo-township")).status_code == 400


def test_an_upgraded_store_is_filled_by_the_rebuild(app, client, at):
    """After migration 0010 the notices' rows are set back (seq 0) and replies have none: `flask
    projections rebuild` fills them, links and counts included."""
    import sqlalchemy as sa

    from server.services.ledger.tables import records

    district = browser(app, "demo-district")
    notice = issue(district, VILLAGE, subject="升级后重建", dispute_id=DISPUTE)
    _, r = sync_reply(client, "demo-village", notice, VILLAGE)
    assert r.status_code == 201
    before = page_counts(district, DISTRICT)
    store = app.extensions["paicha_store"]
    with store.writing() as conn:  # as the migration leaves them
        conn.execute(records.delete().where(records.c.type == "notice_reply"))
        conn.execute(records.update().where(records.c.type == "supervision_notice").values(
            seq=0, link_id=None, kind=None, priority=None))
    assert api_notices(client, "demo-village")[notice]["replies"] == 0
    result = app.test_cli_runner().invoke(args=["projections", "rebuild"])
    assert result.exit_code == 0, result.output
    assert page_counts(district, DISTRICT) == before
    assert api_notices(client, "demo-village")[notice]["state"] == "replied"
    assert notice in NOTICE_LINK.findall(district.get(f"/ledger/dispute/{DISPUTE}").text)
    with store.reading() as conn:
        assert conn.execute(sa.select(records.c.kind).where(records.c.doc_id == notice)).scalar() == "routine"
