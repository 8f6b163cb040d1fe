"""A matter's life (事项办理) through the real interfaces, on the demo district: a village cadre
registers a dispute by sync, the township accepts and assigns it on the web, the cadre records the
handling and the reply by sync, the township records the evaluation and closes it; the dispute file
shows the registration number and every step in order. Deadlines at the year's end with a frozen
clock, the one extension, a reopened matter; then attempts to get around the rules, and the numbers
after `flask projections rebuild`. SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import html
import re
import uuid

import pytest

from server.core import clock
from server.core.clock import SHANGHAI

from .test_ledger import basic, browser, csrf

pytestmark = pytest.mark.demo

DISTRICT, TOWNSHIP, VILLAGE, VILLAGE2 = "990101", "990101001", "990101001001", "990101001002"
START = dt.datetime(2026, 12, 20, 9, 0, tzinfo=SHANGHAI)
NUMBER = re.compile(r'id="reg-number">(990101-\d{4}-\d{6})<')


@pytest.fixture
def at(monkeypatch):
    def move(moment: dt.datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    move(START)
    return move


def register(client, name: str = "demo-village", area: str = VILLAGE, when: dt.datetime = START) -> str:
    doc_id = f"dispute-{uuid.uuid4()}"
    doc = {"type": "dispute", "area": area, "created_by": name, "created_at": when.isoformat(),
           "summary": "宅基地边界争议", "parties": [{"name": "张三", "role": "applicant"}],
           "category": "homestead", "risk_level": "medium", "status": "registered"}
    r = client.put(f"/paicha/{doc_id}", json=doc, headers={**basic(name), "X-Paicha-Device": "phone-1"})
    assert r.status_code == 201, r.text
    return doc_id


def sync_step(client, name: str, matter: str, kind: str, when: dt.datetime = START, area: str = VILLAGE, **fields):
    step_id = f"step-{matter}~{uuid.uuid4().hex[:8]}"
    doc = {"type": "matter_step", "area": area, "matter_id": matter, "kind": kind, "created_by": name,
           "created_at": when.isoformat(), "at": when.isoformat(), **fields}
    return step_id, client.put(f"/paicha/{step_id}", json=doc, headers={**basic(name), "X-Paicha-Device": "phone-1"})


def web_step(client, matter: str, kind: str, **fields):
    token = csrf(client, f"/ledger/dispute/{matter}")
    return client.post(f"/ledger/dispute/{matter}/step", data={"kind": kind, **fields, "csrf_token": token})


def file_of(client, matter: str) -> str:
    r = client.get(f"/ledger/dispute/{matter}")
    assert r.status_code == 200, r.text[:500]
    return r.text


def trail(page: str) -> list[str]:
    table = page[page.index('id="matter-trail-table"'):]
    return re.findall(r'<tr data-what="(\w+)"', table[:table.index("</table>")])


def api_token(client, name: str) -> dict:
    r = client.post("/api/v1/auth/login", json={"name": name, "password": "demo-password", "device_id": "api-phone"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json['access_token']}"}


# -- the scenario ----------------------------------------------------------------------------------------------

def test_a_matters_whole_life(app, client, at):
    matter = register(client)
    township = browser(app, "demo-township")
    number = NUMBER.search(file_of(township, matter)).group(1)
    assert number.startswith("990101-2026-")

    at(START + dt.timedelta(days=1))
    assert web_step(township, matter, "accept", note="属于受理范围").status_code == 302
    r = web_step(township, matter, "assign", unit="示范村人民调解委员会", unit_account="demo-village",
                 responsible_area=VILLAGE, leader="李镇长")
    assert r.status_code == 302, r.text[:800]

    at(START + dt.timedelta(days=3))
    _, r = sync_step(client, "demo-village", matter, "handle", START + dt.timedelta(days=3), method="mediation",
                     participants="张三、李四、村调委会", conclusion="双方同意重新丈量")
    assert r.status_code == 201, r.text
    _, r = sync_step(client, "demo-village", matter, "reply", START + dt.timedelta(days=4),
                     content="已当面告知调解结果", channel="in_person", date="2026-12-24")
    assert r.status_code == 201, r.text

    at(START + dt.timedelta(days=5))  # the web session lasts a week
    r = web_step(township, matter, "evaluate", result="satisfied", collected_via="phone", collected_by="镇综治中心")
    assert r.status_code == 302, r.text[:800]
    assert web_step(township, matter, "close", note="已化解").status_code == 302

    page = file_of(township, matter)
    assert NUMBER.search(page).group(1) == number
    assert trail(page) == ["registered", "accept", "assign", "handle", "reply", "evaluate", "close"]
    text = html.unescape(page)
    for words in ("已办结", "受理", "交办", "办理记录", "调解", "答复", "当面", "评价", "满意", "办结", "phone-1"):
        assert words in text, words
    assert "is_overdue" not in text and 'class="overdue"' not in page

    r = client.get(f"/api/v1/disputes/{matter}/steps", headers=api_token(client, "demo-village"))
    assert r.status_code == 200, r.text
    assert r.json["number"] == number and r.json["stage"] == "closed"
    assert [s["kind"] for s in r.json["steps"]] == ["accept", "assign", "handle", "reply", "evaluate", "close"]
    assert r.json["deadlines"]["accept"] == "2027-01-04"
    assert all(s["counts"] for s in r.json["steps"])


# -- deadlines --------------------------------------------------------------------------------------------------

def test_acceptance_deadline_at_the_years_end(app, client, at):
    matter = register(client)  # 2026-12-20
    at(dt.datetime(2027, 1, 4, 23, 59, tzinfo=SHANGHAI))
    township = browser(app, "demo-township")  # (a web session lasts a week)
    page = file_of(township, matter)
    assert 'id="accept-due">2027-01-04' in page
    assert "已逾期" not in page[page.index('id="accept-due"'):page.index('id="handle-due"')]
    listed = township.get(f"/ledger/disputes?area={VILLAGE}&overdue=1").text
    assert matter not in listed
    at(dt.datetime(2027, 1, 5, 0, 0, tzinfo=SHANGHAI))
    page = file_of(township, matter)
    assert "已逾期" in page[page.index('id="accept-due"'):page.index('id="handle-due"')]
    assert matter in township.get(f"/ledger/disputes?area={VILLAGE}&overdue=1").text
    assert matter in township.get(f"/ledger/disputes?area={VILLAGE}&stage=registered").text


def test_one_extension_of_at_most_30_days(app, client, at):
    matter = register(client)
    township = browser(app, "demo-township")
    assert web_step(township, matter, "accept").status_code == 302  # 2026-12-20: handling due 2027-02-18
    r = web_step(township, matter, "extend", days="31", reason="需要司法鉴定")
    assert r.status_code == 422 and "延期天数超过了规定的上限" in html.unescape(r.text)
    assert web_step(township, matter, "extend", days="30", reason="需要司法鉴定").status_code == 302
    r = web_step(township, matter, "extend", days="5", reason="再延")
    assert r.status_code == 422 and "只能延期一次" in html.unescape(r.text)
    page = file_of(township, matter)
    assert "2027-03-20" in page[page.index('id="handle-due"'):page.index('id="reply-due"')]
    # a second extension by sync is kept but does not count
    _, r = sync_step(client, "demo-township", matter, "extend", START + dt.timedelta(days=1), days=10, reason="再延")
    assert r.status_code == 201
    page = file_of(township, matter)
    assert "2027-03-20" in page[page.index('id="handle-due"'):page.index('id="reply-due"')]
    assert "不计入" in page


def test_a_reopened_matter_keeps_its_steps_and_is_handled_again(app, client, at):
    matter = register(client)
    township = browser(app, "demo-township")
    for kind in ("accept", "close"):
        assert web_step(township, matter, kind).status_code == 302
    assert web_step(township, matter, "reopen", reason="协议未履行").status_code == 302
    page = file_of(township, matter)
    assert trail(page) == ["registered", "accept", "close", "reopen"]
    assert "办理中" in page[page.index('id="matter-stage"'):page.index('id="accept-due"')]
    assert matter in township.get(f"/ledger/disputes?area={VILLAGE}&stage=handling").text


def test_conclude_needs_a_hearing(app, client, at):
    matter = register(client)
    township = browser(app, "demo-township")
    assert web_step(township, matter, "accept").status_code == 302
    r = web_step(township, matter, "conclude")
    assert r.status_code == 422 and "听证" in html.unescape(r.text)
    assert web_step(township, matter, "handle", method="hearing", participants="双方", conclusion="听证完毕").status_code == 302
    assert web_step(township, matter, "conclude").status_code == 302
    assert "已终结" in file_of(township, matter)


# -- attempts to get around the rules -----------------------------------------------------------------------

def test_a_cadre_of_another_village_neither_reads_nor_writes_the_steps(app, client, at):
    matter = register(client)
    step_id, r = sync_step(client, "demo-village", matter, "handle", method="visit", participants="张三",
                           conclusion="已走访")
    assert r.status_code == 201
    assert client.get(f"/paicha/{step_id}", headers=basic("demo-village2")).status_code == 404
    _, r = sync_step(client, "demo-village2", matter, "handle", method="visit", participants="x", conclusion="x")
    assert r.status_code == 403
    other = api_token(client, "demo-village2")
    assert client.get(f"/api/v1/disputes/{matter}/steps", headers=other).status_code == 404
    r = client.post(f"/api/v1/disputes/{matter}/steps", headers=other,
                    json={"kind": "handle", "method": "visit", "participants": "x", "conclusion": "x"})
    assert r.status_code == 404


def test_a_village_cadre_cannot_accept_or_assign(app, client, at):
    matter = register(client)
    _, r = sync_step(client, "demo-village", matter, "accept")
    assert r.status_code == 403 and "township staff or the district" in r.json["reason"]
    r = client.post(f"/api/v1/disputes/{matter}/steps", headers=api_token(client, "demo-village"),
                    json={"kind": "assign", "unit": "村调委会", "responsible_area": VILLAGE})
    assert r.status_code == 403 and r.json["refusal"] == "step_not_allowed"


def test_the_replier_cannot_evaluate(app, client, at):
    matter = register(client)
    token = api_token(client, "demo-village")
    r = client.post(f"/api/v1/disputes/{matter}/steps", headers=token,
                    json={"kind": "reply", "content": "已答复", "channel": "phone", "date": "2026-12-20"})
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/disputes/{matter}/steps", headers=token,
                    json={"kind": "evaluate", "result": "satisfied", "collected_via": "phone", "collected_by": "我"})
    assert r.status_code == 403 and r.json["refusal"] == "self_evaluation"
    # by sync it is kept, but it does not count
    _, r = sync_step(client, "demo-village", matter, "evaluate", result="satisfied", collected_via="phone",
                     collected_by="我")
    assert r.status_code == 201
    steps = client.get(f"/api/v1/disputes/{matter}/steps", headers=token).json
    assert steps["stage"] == "replied"
    assert [s["counts"] for s in steps["steps"]] == [True, False]


def test_nobody_edits_or_deletes_a_step(app, client, at):
    matter = register(client)
    township = browser(app, "demo-township")
    _, r = sync_step(client, "demo-village", matter, "reply", content="已电话告知处理意见", channel="phone",
                     date="2026-12-20")
    assert r.status_code == 201, r.json
    assert web_step(township, matter, "evaluate", result="unsatisfied", collected_via="in_person",
                    collected_by="镇综治中心").status_code == 302
    step = [s for s in client.get(f"/api/v1/disputes/{matter}/steps", headers=api_token(client, "demo-township"))
            .json["steps"] if s["kind"] == "evaluate"][0]
    doc = client.get(f"/paicha/{step['id']}", headers=basic("demo-township")).json
    for who in ("demo-township", "demo-district", "demo-admin"):
        r = client.put(f"/paicha/{step['id']}", json={**doc, "result": "satisfied"}, headers=basic(who))
        assert r.status_code == 403, (who, r.text)
        r = client.delete(f"/paicha/{step['id']}?rev={doc['_rev']}", headers=basic(who))
        assert r.status_code == 403, (who, r.text)
    assert client.get(f"/paicha/{step['id']}", headers=basic("demo-township")).json["result"] == "unsatisfied"


def test_registration_numbers_are_unique_and_stable_after_a_rebuild(app, client, at):
    matters = [register(client, name, area) for name, area in
               (("demo-village", VILLAGE), ("demo-village2", VILLAGE2), ("demo-township", TOWNSHIP))]
    district = browser(app, "demo-district")
    before = {m: NUMBER.search(file_of(district, m)).group(1) for m in matters}
    everything = client.get(f"/ledger/disputes?area={DISTRICT}&stage=registered").text
    assert len(set(before.values())) == 3
    from server.services.matters.tables import numbers  # the read model itself, to empty it as by hand
    with app.app_context():
        from server.core.store import get_store
        store = get_store()
        with store.writing() as conn:
            all_before = dict(conn.execute(numbers.select().with_only_columns(numbers.c.doc_id, numbers.c.number)).all())
            conn.execute(numbers.delete())
    assert len(set(all_before.values())) == len(all_before)
    result = app.test_cli_runner().invoke(args=["projections", "rebuild"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        with get_store().writing() as conn:
            all_after = dict(conn.execute(numbers.select().with_only_columns(numbers.c.doc_id, numbers.c.number)).all())
    assert all_after == all_before
    assert {m: NUMBER.search(file_of(district, m)).group(1) for m in matters} == before
    assert everything


# -- responsibility: 包案, repeat and collective matters -----------------------------------------------------------

def register_party(client, phone: str, name: str = "demo-village", area: str = VILLAGE, category: str = "homestead",
                   people: int = 2, when: dt.datetime = START) -> str:
    doc_id = f"dispute-{uuid.uuid4()}"
    doc = {"type": "dispute", "area": area, "created_by": name, "created_at": when.isoformat(),
           "summary": "土地承包纠纷", "parties": [{"name": "王五", "role": "applicant", "phone": phone}],
           "category": category, "risk_level": "medium", "status": "registered", "people_involved": people}
    r = client.put(f"/paicha/{doc_id}", json=doc, headers={**basic(name), "X-Paicha-Device": "phone-1"})
    assert r.status_code == 201, r.text
    return doc_id


def leader_cli(app, *args):
    return app.test_cli_runner().invoke(args=["areas", "leader", *args])


def test_the_responsible_leader_is_the_matters_own_else_the_nearest_areas(app, client, at):
    matter = register(client)
    township = browser(app, "demo-township")
    token = api_token(client, "demo-village")

    def shown():
        page = html.unescape(file_of(township, matter))
        return page[page.index('id="matter-leader"'):].split("</dd>")[0]

    assert leader_cli(app, TOWNSHIP).exit_code != 0  # neither a leader nor --clear
    assert "is not known" in leader_cli(app, "990101009", "某某").output
    assert "at most 100" in leader_cli(app, TOWNSHIP, "长" * 101).output
    assert leader_cli(app, DISTRICT, "赵区长（副区长）").exit_code == 0
    assert leader_cli(app, TOWNSHIP, "王书记（镇党委书记）").exit_code == 0
    try:
        assert "王书记（镇党委书记）" in shown() and "区域包案" in shown()
        assert client.get(f"/api/v1/disputes/{matter}/steps", headers=token).json["leader"] == {
            "name": "王书记（镇党委书记）", "area": TOWNSHIP}
        assert leader_cli(app, TOWNSHIP, "--clear").exit_code == 0
        assert "赵区长（副区长）" in shown()  # the enclosing district's
        assert web_step(township, matter, "accept").status_code == 302
        assert web_step(township, matter, "assign", unit="司法所", responsible_area=TOWNSHIP,
                        leader="李镇长").status_code == 302
        assert "李镇长" in shown() and "区域包案" not in shown()
        assert client.get(f"/api/v1/disputes/{matter}/steps", headers=token).json["leader"] == {
            "name": "李镇长", "area": None}
    finally:
        leader_cli(app, DISTRICT, "--clear")
        leader_cli(app, TOWNSHIP, "--clear")


def test_the_same_partys_matters_are_linked_within_the_viewers_scope(app, client, at):
    phone = f"139{uuid.uuid4().int % 10 ** 8:08d}"
    first = register_party(client, phone, when=START - dt.timedelta(days=40))
    second = register_party(client, phone, category="land")
    elsewhere = register_party(client, phone, name="demo-village2", area=VILLAGE2)
    stranger = register_party(client, f"138{uuid.uuid4().int % 10 ** 8:08d}")
    district = browser(app, "demo-district")
    page = html.unescape(file_of(district, first))
    linked = page[page.index('id="matter-repeats"'):].split("</dd>")[0]
    assert "其他事项共 2 件" in linked
    assert second in linked and elsewhere in linked and stranger not in linked
    assert 'id="matter-repeats"' not in file_of(district, stranger)
    # the village cadre sees only the matters of the village
    r = client.get(f"/api/v1/disputes/{second}/steps", headers=api_token(client, "demo-village"))
    assert r.json["repeats"]["total"] == 1
    assert [(i["id"], i["same_subject"]) for i in r.json["repeats"]["items"]] == [(first, False)]
    r = client.get(f"/api/v1/disputes/{first}/steps", headers=api_token(client, "demo-township"))
    assert r.json["repeats"]["total"] == 2
    assert {i["id"]: i["same_subject"] for i in r.json["repeats"]["items"]} == {second: False, elsewhere: True}


def test_a_matter_of_five_people_or_more_is_collective(app, client, at):
    few, many = register_party(client, "13900000000", people=4), register_party(client, "13900000001", people=5)
    token = api_token(client, "demo-village")
    assert client.get(f"/api/v1/disputes/{few}/steps", headers=token).json["collective"] is False
    assert client.get(f"/api/v1/disputes/{many}/steps", headers=token).json["collective"] is True
    township = browser(app, "demo-township")
    assert 'id="matter-collective"' in file_of(township, many)
    assert 'id="matter-collective"' not in file_of(township, few)


def test_the_evaluation_keeps_the_day_the_person_gave_it(app, client, at):
    matter = register(client)
    township = browser(app, "demo-township")
    assert web_step(township, matter, "accept").status_code == 302
    _, r = sync_step(client, "demo-village", matter, "reply", content="已答复", channel="phone", date="2026-12-20")
    assert r.status_code == 201
    assert web_step(township, matter, "evaluate", result="basically", collected_via="phone", collected_by="镇综治中心",
                    date="2026-12-19").status_code == 302
    steps = client.get(f"/api/v1/disputes/{matter}/steps", headers=api_token(client, "demo-township")).json["steps"]
    assert [s.get("date") for s in steps if s["kind"] == "evaluate"] == ["2026-12-19"]


# -- the office's figures in /api/v1 ----------------------------------------------------------------------------

FIGURE_DAY = dt.datetime(2031, 3, 10, 9, 0, tzinfo=SHANGHAI)  # a month of this test's own


def test_the_api_serves_the_offices_figures_for_the_callers_scope(app, client, at):
    at(FIGURE_DAY)
    accepted = register(client, when=FIGURE_DAY)
    register(client, when=FIGURE_DAY)  # never accepted
    register(client, "demo-village2", VILLAGE2, when=FIGURE_DAY)
    township = browser(app, "demo-township")
    assert web_step(township, accepted, "accept").status_code == 302
    at(FIGURE_DAY + dt.timedelta(days=30))  # both acceptance deadlines have passed
    window = "since=2031-03-01&until=2031-03-31"

    def figures(name, query=window):
        r = client.get(f"/api/v1/figures?{query}", headers=api_token(client, name))
        return r.status_code, r.json

    status, body = figures("demo-township", f"area={VILLAGE}&{window}")
    assert status == 200, body
    rows = {f["key"]: f for f in body["figures"]}
    assert rows["accept_timely"]["now"] == {"num": 1, "den": 2, "rate": 0.5}
    assert rows["resolution"]["now"]["den"] == 2 and rows["resolution"]["now"]["num"] == 0
    assert rows["accept_timely"]["name"] == "及时受理率" and "15日" in rows["accept_timely"]["definition"]
    assert body["last_year"] == {"since": "2030-03-01", "until": "2030-03-31"}
    assert rows["accept_timely"]["last_year"]["den"] == 0 and rows["accept_timely"]["change"] is None
    # the village cadre: its own village, whatever wider area it names; never another village
    status, body = figures("demo-village", f"area={TOWNSHIP}&{window}")
    assert status == 200 and {f["key"]: f for f in body["figures"]}["accept_timely"]["now"]["den"] == 2
    assert figures("demo-village2", window)[1]["figures"][0]["now"]["den"] == 1
    status, body = figures("demo-village", f"area={VILLAGE2}&{window}")
    assert status == 403 and body["code"] == "out_of_scope"
    for query, name in (("since=2031-13-01", "since"), ("until=tomorrow", "until"),
                        ("since=2031-04-01&until=2031-03-01", "since"), ("since=2020-01-01&until=2031-03-01", "since"),
                        ("area=99", "area")):
        status, body = figures("demo-township", query)
        assert status == 400 and body["code"] == "invalid_parameter" and body["name"] == name, (query, body)


# -- registering on the web -----------------------------------------------------------------------------------

def register_on_web(client, **fields):
    token = csrf(client, "/ledger/dispute/new")
    form = {"area": VILLAGE, "summary": "来访反映邻里排水纠纷", "category": "neighbourhood", "risk_level": "low",
            "party_name_0": "赵六", "party_role_0": "applicant", "party_phone_0": "13700001111",
            "party_id_number_0": "61040219800101123x", "party_name_1": "钱七", "party_role_1": "respondent",
            "people_involved": "2", "csrf_token": token, **fields}
    return client.post("/ledger/dispute/new", data=form)


def test_township_and_district_staff_register_a_matter_on_the_web(app, client, at):
    for name, area in (("demo-township", VILLAGE), ("demo-district", TOWNSHIP)):
        web_client = browser(app, name)
        page = web_client.get("/ledger/dispute/new").text
        assert 'id="register-form"' in page and "示范村一" in html.unescape(page)
        r = register_on_web(web_client, area=area)
        assert r.status_code == 302, html.unescape(r.text)[:600]
        matter = r.headers["Location"].split("/ledger/dispute/")[1].split("?")[0]
        page = html.unescape(web_client.get(r.headers["Location"]).text)
        assert "已登记" in page and NUMBER.search(page) and "赵六" in page and "61040219800101123X" in page
        doc = client.get(f"/paicha/{matter}", headers=basic(name)).json
        assert (doc["area"], doc["created_by"], doc["status"], doc["people_involved"]) == (area, name, "registered", 2)
        assert doc["parties"][0] == {"name": "赵六", "role": "applicant", "phone": "13700001111",
                                     "id_number": "61040219800101123X"}
        # the village's phone receives it when it is the village's
        if area == VILLAGE:
            assert client.get(f"/paicha/{matter}", headers=basic("demo-village")).status_code == 200


def test_registering_on_the_web_refuses_what_it_should(app, client, at):
    township = browser(app, "demo-township")
    r = register_on_web(township, area="990102001001")  # another township's village
    assert r.status_code == 403
    r = register_on_web(township, summary="  ")
    assert r.status_code == 422 and "请填写纠纷概要" in html.unescape(r.text)
    r = register_on_web(township, party_name_0="", party_name_1=" ")
    assert r.status_code == 422 and "至少填写一名当事人" in html.unescape(r.text)
    r = register_on_web(township, party_id_number_0="1234")
    assert r.status_code == 422 and "记录内容" in html.unescape(r.text)  # the schema's refusal, in words
    r = register_on_web(township, people_involved="-3")
    assert r.status_code == 422 and "涉及人数" in html.unescape(r.text)
    assert register_on_web(township, category="bogus").status_code == 400
    r = township.post("/ledger/dispute/new", data={"area": VILLAGE, "summary": "x", "party_name_0": "x"})
    assert r.status_code == 400  # no CSRF token


def test_the_assign_and_transfer_forms_name_the_areas(app, client, at):
    matter = register(client)
    page = html.unescape(file_of(browser(app, "demo-township"), matter))
    assign = page[page.index('id="form-assign"'):page.index("</form>", page.index('id="form-assign"'))]
    assert f"<option value=\"{VILLAGE}\" selected>　示范村一</option>" in assign and "990101002" not in assign
    transfer = page[page.index('id="form-transfer"'):page.index("</form>", page.index('id="form-transfer"'))]
    assert "990101002" in transfer and f"value=\"{VILLAGE}\"" not in transfer  # the district's other areas
    assert 'pattern="[0-9]{6}' not in assign + transfer
