"""A matter's whole life as the offices work it, through the real interfaces, across the year's end:
a village cadre's phone (real PouchDB) registers a dispute offline and syncs; township staff accept
and assign it on the web; the unit (the village's cadre, on the phone) records the handling; the
reply comes late, so the district chases it with a notice and the unit answers the notice from the
phone; the person's evaluation is recorded on the web; the matter closes. The file shows every step
in order with who and from which device; every figure the matter touches moves as its definition
says, checked at each step against a count made here from the documents themselves.

The server runs as a subprocess; each working day it is restarted with its clock set to that day
(PAICHA_CLOCK, frozen), so deadlines pass as they would.
"""
from __future__ import annotations

import datetime as dt
import html
import re
import uuid

import pytest
import requests

from support.server import REFERENCE_RUN

pytestmark = pytest.mark.skipif(REFERENCE_RUN, reason="case handling is Paicha's own, not CouchDB's")

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
DB = "paicha"
PW = "case-handling-password"
DISTRICT, TOWNSHIP, VILLAGE = "610402", "610402001", "610402001001"
CADRE, STAFF, SUPERVISOR = "cadre-yicun", "staff-qiyilu", "supervisor-wangyi"
PHONE = "cadre-phone-7"
NAMES = {CADRE: "李娟", STAFF: "张强", SUPERVISOR: "王芳"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ISSUED = re.compile(r'href="/ledger/notice/(notice-[^"?]+)"><code>')
WINDOW = ("2026-12-01", "2027-01-31")
ACCEPT_DAYS, HANDLE_DAYS = 15, 60


def day(d: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{d}T{hour:02d}:00:00").replace(tzinfo=SHANGHAI)


@pytest.fixture
def office(store_kind, server_factory, stores):
    """The server on a store of its own with one district, township and village and their people."""
    from server import create_app
    from server.core.accounts import add_account
    from server.core.areas import check_area, import_areas
    from server.core.db import db

    url = stores.new(store_kind)
    srv = server_factory(url, env={"PAICHA_CLOCK": day("2026-12-28", 8).isoformat() + "!"})  # it migrates the store
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "PAICHA_DEMO": False,
                      "PAICHA_SCHEDULER": "off"})
    with app.app_context():
        import_areas([check_area(DISTRICT, "王益区"), check_area(TOWNSHIP, "七一路街道"),
                      check_area(VILLAGE, "一村")])
        add_account(CADRE, PW, "village_cadre", VILLAGE, "李娟")
        add_account(STAFF, PW, "township_staff", TOWNSHIP, "张强")
        add_account(SUPERVISOR, PW, "district_supervisor", DISTRICT, "王芳")
        db.session.remove()
        db.engine.dispose()
    yield srv


def move_to(srv, moment: dt.datetime) -> None:
    """The next working day: the server again, its clock at `moment`."""
    srv.extra_env["PAICHA_CLOCK"] = moment.isoformat() + "!"
    srv.restart(kill=False)


def web(srv, name: str) -> requests.Session:
    """A browser logged in to the ledger (a new one each day: the session would have lapsed)."""
    s = requests.Session()
    token = CSRF.search(s.get(f"{srv.url}/ledger/login").text).group(1)
    r = s.post(f"{srv.url}/ledger/login", data={"name": name, "password": PW, "csrf_token": token},
               allow_redirects=False)
    assert r.status_code == 302, r.text[:300]
    return s


def form(s: requests.Session, srv, page: str, action: str, **fields) -> requests.Response:
    token = CSRF.search(s.get(f"{srv.url}{page}").text).group(1)
    return s.post(f"{srv.url}{action}", data={**fields, "csrf_token": token}, allow_redirects=False)


def web_step(s, srv, matter: str, kind: str, **fields) -> None:
    r = form(s, srv, f"/ledger/dispute/{matter}", f"/ledger/dispute/{matter}/step", kind=kind, **fields)
    assert r.status_code == 302, (kind, r.status_code, html.unescape(r.text)[:600])


def api_figures(srv) -> dict[str, tuple[int, int]]:
    r = requests.post(f"{srv.url}/api/v1/auth/login",
                      json={"name": SUPERVISOR, "password": PW, "device_id": "district-desk"})
    assert r.status_code == 200, r.text
    r = requests.get(f"{srv.url}/api/v1/figures", params={"since": WINDOW[0], "until": WINDOW[1]},
                     headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert r.status_code == 200, r.text
    return {f["key"]: (f["now"]["num"], f["now"]["den"]) for f in r.json()["figures"]}


# -- the figures counted here, from the documents, as each definition on the figures page words it ------------

def _date(text: str) -> dt.date:
    return dt.datetime.fromisoformat(text).astimezone(SHANGHAI).date()


def counted_from_documents(srv, today: dt.date) -> dict[str, tuple[int, int]]:
    """(numerator, denominator) of each figure over the period, from the district's documents."""
    r = requests.get(f"{srv.url}/{DB}/_all_docs", params={"include_docs": "true"}, auth=(SUPERVISOR, PW))
    assert r.status_code == 200, r.text
    docs = [row["doc"] for row in r.json()["rows"]]
    since, until = (dt.date.fromisoformat(d) for d in WINDOW)
    within = lambda d: d is not None and since <= d <= until  # noqa: E731
    out = {k: [0, 0] for k in ("accept_timely", "unit_accept_timely", "reply_on_time", "close_on_time", "evaluation_rate",
                               "evaluated_satisfaction", "public_satisfaction", "one_time", "resolution", "repeat")}

    def count(key, in_den, in_num):
        if in_den:
            out[key][1] += 1
            out[key][0] += bool(in_num)

    for matter in (d for d in docs if d.get("type") == "dispute"):
        steps = sorted((d for d in docs if d.get("type") == "matter_step" and d.get("matter_id") == matter["_id"]),
                       key=lambda s: s["at"])
        first = lambda kind: next((s for s in steps if s["kind"] == kind), None)  # noqa: E731
        registered = _date(matter["created_at"])
        accept_due = registered + dt.timedelta(days=ACCEPT_DAYS)
        decided = next((_date(s["at"]) for s in steps if s["kind"] in ("accept", "reject")), None)
        accepted = _date(first("accept")["at"]) if first("accept") else None
        assign = first("assign")
        handle_due = (dt.date.fromisoformat(assign["deadline"]) if assign and assign.get("deadline") else
                      accepted + dt.timedelta(days=HANDLE_DAYS) if accepted else None)
        replied = dt.date.fromisoformat(first("reply")["date"]) if first("reply") else None
        closing = next((s for s in reversed(steps) if s["kind"] in ("close", "conclude")), None)
        finished = _date(closing["at"]) if closing else None
        evaluations = [s for s in steps if s["kind"] == "evaluate"]
        satisfied = bool(evaluations) and evaluations[-1]["result"] in ("satisfied", "basically")
        # 及时受理率: the deadline passed in the period, or decided within it in the period
        on_time = decided is not None and decided <= accept_due
        count("accept_timely", within(decided if on_time else accept_due) and (decided or accept_due < today),
              on_time)
        # 责任单位及时受理率: the unit's first handling or reply within accept_days of the 交办
        if assign:
            unit_due = _date(assign["at"]) + dt.timedelta(days=ACCEPT_DAYS)
            acted = next((_date(s["at"]) for s in steps if s["kind"] in ("handle", "reply")
                          and _date(s["at"]) >= _date(assign["at"])), None)
            unit_on_time = acted is not None and acted <= unit_due
            count("unit_accept_timely", within(acted if unit_on_time else unit_due) and (acted or unit_due < today),
                  unit_on_time)
        if handle_due is not None:
            replied_in_time = replied is not None and replied <= handle_due
            count("reply_on_time", within(replied if replied_in_time else handle_due)
                  and (replied is not None or (finished is None and handle_due < today)), replied_in_time)
            closed_in_time = finished is not None and finished <= handle_due
            count("close_on_time", within(finished if closed_in_time else handle_due)
                  and (finished is not None or handle_due < today), closed_in_time)
        count("evaluation_rate", within(replied), evaluations)
        count("evaluated_satisfaction", within(replied) and evaluations, satisfied)
        count("public_satisfaction", within(finished), satisfied)
        count("one_time", within(finished), not any(s["kind"] == "reopen" for s in steps))
        count("resolution", within(registered), finished is not None)
        count("repeat", within(registered), False)  # one matter: nothing earlier of the same party
    return {k: (num, den) for k, (num, den) in out.items()}


def figures_agree(srv, today: dt.date, **expected: tuple[int, int]) -> dict:
    served = api_figures(srv)
    assert served == counted_from_documents(srv, today)
    for key, value in expected.items():
        assert served[key] == value, (key, served[key], value)
    return served


def trail(page: str) -> list[tuple[str, str, str]]:
    """(what, who, device) of each row of the file's trail, in the order shown; who is the account
    in the name's tooltip, the name shown being the account's display name."""
    table = page[page.index('id="matter-trail-table"'):]
    rows = re.findall(r'<tr data-what="(\w+)"[^>]*><td>[^<]*</td>\s*<td>.*?</td>\s*'
                      r'<td><span class="person" title="([^"]*)">([^<]*)</span></td><td>([^<]*)</td>',
                      table[:table.index("</table>")], re.S)
    assert all(NAMES[who] == name for _, who, name, _ in rows), rows
    return [(what, who, device) for what, who, _name, device in rows]


def test_a_matter_from_the_phone_to_closing_under_supervision(office, device_factory):
    srv = office
    remote = f"{srv.url}/{DB}"
    phone = device_factory(CADRE, auth={"username": CADRE, "password": PW})
    phone.device_id = PHONE
    phone.pull(remote)

    # 28 Dec, in the fields without signal: the cadre registers the dispute on the phone
    matter = f"dispute-{uuid.uuid4()}"
    phone.put({"_id": matter, "type": "dispute", "area": VILLAGE, "created_by": CADRE,
               "created_at": day("2026-12-28").isoformat(), "summary": "两户因宅基地边界发生争执",
               "parties": [{"name": "张三", "role": "applicant", "phone": "13912345678"},
                           {"name": "李四", "role": "respondent"}],
               "category": "homestead", "risk_level": "medium", "status": "registered", "people_involved": 2})
    move_to(srv, day("2026-12-28", 17))
    phone.push(remote)  # back in signal in the evening
    assert figures_agree(srv, dt.date(2026, 12, 28), accept_timely=(0, 0), resolution=(0, 1))

    # 29 Dec: the township accepts it and assigns it to the village's mediation committee, with a deadline
    move_to(srv, day("2026-12-29"))
    staff = web(srv, STAFF)
    page = html.unescape(staff.get(f"{srv.url}/ledger/dispute/{matter}").text)
    number = re.search(r'id="reg-number">(610402-2026-\d{6})<', page).group(1)
    assert "2027-01-12" in page[page.index('id="accept-due"'):]  # 15 days from registration
    web_step(staff, srv, matter, "accept", note="属于人民调解受理范围")
    web_step(staff, srv, matter, "assign", unit="一村人民调解委员会", unit_account=CADRE,
             responsible_area=VILLAGE, deadline="2027-01-08", leader="刘副镇长")
    assert figures_agree(srv, dt.date(2026, 12, 29), accept_timely=(1, 1), unit_accept_timely=(0, 0))
    phone.pull(remote)  # the office's steps reach the unit's phone
    on_phone = {d.get("kind") for d in phone.docs().values() if d.get("type") == "matter_step"}
    assert on_phone == {"accept", "assign"}

    # 2 Jan (the new year): the unit mediates, recorded on the phone offline, synced later that day
    phone.put({"_id": f"step-{matter}~handle-1", "type": "matter_step", "area": VILLAGE, "matter_id": matter,
               "kind": "handle", "created_by": CADRE, "created_at": day("2027-01-02", 10).isoformat(),
               "at": day("2027-01-02", 10).isoformat(), "method": "mediation",
               "participants": "张三、李四、村调委会主任", "conclusion": "双方同意请镇国土所重新测量"})
    move_to(srv, day("2027-01-02", 18))
    phone.push(remote)

    # 9 Jan: the deadline (8 Jan) has passed with no reply: the district sees it late and chases it
    move_to(srv, day("2027-01-09"))
    figures_agree(srv, dt.date(2027, 1, 9), reply_on_time=(0, 1), close_on_time=(0, 1), unit_accept_timely=(1, 1))
    district = web(srv, SUPERVISOR)
    page = html.unescape(district.get(f"{srv.url}/ledger/dispute/{matter}").text)
    assert "已逾期" in page[page.index('id="reply-due"'):page.index('id="matter-leader"')]
    assert "刘副镇长" in page[page.index('id="matter-leader"'):].split("</dd>")[0]
    r = form(district, srv, f"/ledger/notice?area={VILLAGE}&dispute_id={matter}", "/ledger/notice",
             target_area=VILLAGE, dispute_id=matter, subject="关于一村宅基地纠纷逾期未答复的督办",
             body="请于1月12日前答复当事人并报告办理情况。", deadline="2027-01-12", issued_by="王益区平安办",
             kind="routine", priority="key", method="phone")
    assert r.status_code == 200, html.unescape(r.text)[:600]
    notice = ISSUED.search(r.text).group(1)

    # 10 Jan: the phone receives the notice; the unit replies to the person and answers the notice
    move_to(srv, day("2027-01-10", 8))
    phone.pull(remote)
    assert phone.get(notice)["dispute_id"] == matter
    phone.put({"_id": f"step-{matter}~reply-1", "type": "matter_step", "area": VILLAGE, "matter_id": matter,
               "kind": "reply", "created_by": CADRE, "created_at": day("2027-01-10", 10).isoformat(),
               "at": day("2027-01-10", 10).isoformat(), "content": "已当面告知测量结果和调解意见",
               "channel": "in_person", "date": "2027-01-10"},
              {"_id": f"reply-{notice}~1", "type": "notice_reply", "area": VILLAGE, "notice_id": notice,
               "created_by": CADRE, "created_at": day("2027-01-10", 11).isoformat(),
               "replied_at": day("2027-01-10", 11).isoformat(), "body": "已于今日答复当事人，双方接受测量结果。"})
    move_to(srv, day("2027-01-10", 12))
    phone.push(remote)
    figures_agree(srv, dt.date(2027, 1, 10), reply_on_time=(0, 1), evaluation_rate=(0, 1))
    r = requests.get(f"{srv.url}/{DB}/{notice}", auth=(SUPERVISOR, PW))
    assert r.json()["status"] == "issued"

    # 11 Jan: the person's evaluation, collected by phone by the township; the matter is closed and so is the notice
    move_to(srv, day("2027-01-11"))
    staff = web(srv, STAFF)
    web_step(staff, srv, matter, "evaluate", result="basically", collected_via="phone", collected_by="七一路街道综治中心",
             date="2027-01-11")
    figures_agree(srv, dt.date(2027, 1, 11), evaluation_rate=(1, 1), evaluated_satisfaction=(1, 1))
    web_step(staff, srv, matter, "close", note="双方按测量结果划定边界，纠纷化解")
    district = web(srv, SUPERVISOR)
    r = form(district, srv, f"/ledger/notice/{notice}", f"/ledger/notice/{notice}/close", close_note="已答复，督办办结。")
    assert r.status_code == 302, r.text[:300]
    final = figures_agree(srv, dt.date(2027, 1, 11), accept_timely=(1, 1), unit_accept_timely=(1, 1), reply_on_time=(0, 1),
                          close_on_time=(0, 1), evaluation_rate=(1, 1), evaluated_satisfaction=(1, 1),
                          public_satisfaction=(1, 1), one_time=(1, 1), resolution=(1, 1), repeat=(0, 1))
    assert len(final) == 10

    # the file (一案一档): every step in order, with who and from which device; closed; the notice in it
    page = html.unescape(district.get(f"{srv.url}/ledger/dispute/{matter}").text)
    assert re.search(r'id="reg-number">([^<]+)<', page).group(1) == number
    assert "已办结" in page[page.index('id="matter-stage"'):page.index('id="accept-due"')]
    assert trail(page) == [("registered", CADRE, PHONE), ("accept", STAFF, ""), ("assign", STAFF, ""),
                           ("handle", CADRE, PHONE), ("notice", SUPERVISOR, ""), ("reply", CADRE, PHONE),
                           ("evaluate", STAFF, ""), ("close", STAFF, "")]
    assert notice in page[page.index('id="dispute-notices"'):]
    # the phone holds the whole matter, and the supervisor's notice closed
    phone.pull(remote)
    kinds = sorted(d["kind"] for d in phone.docs().values() if d.get("type") == "matter_step")
    assert kinds == sorted(["accept", "assign", "handle", "reply", "evaluate", "close"])
    assert phone.get(notice)["status"] == "closed"
