"""The figures the offices are measured by (/ledger/figures), from the matters' steps, on the demo
district: a small set of matters with known steps in the first half of 2031 and of 2030, written by
sync with the clock frozen at each step; every figure's numerator, denominator, rate and change on
the year checked against the test's own count from the documents it wrote, and every number's link
against the records it counts. A township sees its own township only; bad parameters are a 400.
SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import html
import re
import uuid

import pytest

from server.core import clock
from server.core.clock import SHANGHAI

from .test_ledger import login, put_in_time_order

pytestmark = pytest.mark.demo

TOWNSHIP, VILLAGE, OTHER_TOWNSHIP, OTHER_VILLAGE = "990101001", "990101001001", "990101002", "990101002001"
NOW = ("2031-01-01", "2031-06-30")
BEFORE = ("2030-01-01", "2030-06-30")
TODAY = dt.datetime(2031, 12, 1, 9, 0, tzinfo=SHANGHAI)
ACCEPT_DAYS, HANDLE_DAYS = 15, 60
OFFICE, UNIT, EVALUATOR = "demo-township", "demo-village", "demo-township"

# (name, area, registered, main party's phone, [(kind, day, fields)])
EVAL = {"collected_via": "phone", "collected_by": "镇综治中心"}
MATTERS = [
    ("A", VILLAGE, "2031-01-10", "13800000001", [("accept", "2031-01-12", {}), ("assign", "2031-01-13", {}),
                                                 ("handle", "2031-01-20", {}), ("reply", "2031-02-20", {}),
                                                 ("evaluate", "2031-02-25", {"result": "satisfied"}),
                                                 ("close", "2031-03-01", {})]),
    ("B", VILLAGE, "2031-02-01", "13800000002", [("accept", "2031-02-25", {}), ("assign", "2031-02-26", {}),
                                                 ("handle", "2031-03-20", {}), ("reply", "2031-05-10", {}),
                                                 ("close", "2031-05-12", {})]),
    ("C", VILLAGE, "2031-03-01", "138-0000-0001", [("reject", "2031-03-05", {})]),
    ("D", VILLAGE, "2031-03-10", None, []),
    ("E", VILLAGE, "2031-01-05", "13900000009", [("accept", "2031-01-06", {}), ("reply", "2031-01-20", {}),
                                                 ("evaluate", "2031-01-22", {"result": "unsatisfied"}),
                                                 ("close", "2031-01-25", {}), ("reopen", "2031-02-01", {}),
                                                 ("close", "2031-02-10", {})]),
    ("G", VILLAGE, "2031-06-25", None, []),
    ("F", VILLAGE, "2030-03-01", "13900000009", [("accept", "2030-03-03", {}), ("reply", "2030-03-20", {}),
                                                 ("evaluate", "2030-03-22", {"result": "basically"}),
                                                 ("close", "2030-03-25", {})]),
    ("H", VILLAGE, "2030-04-01", "13700000003", [("accept", "2030-04-20", {}), ("close", "2030-05-01", {})]),
    ("X", OTHER_VILLAGE, "2031-02-01", "13600000004", [("accept", "2031-02-02", {}),
                                                       ("assign", "2031-02-03", {"responsible_area": OTHER_VILLAGE}),
                                                       ("close", "2031-02-10", {})]),
]
FIELDS = {"accept": {"note": "属于受理范围"}, "reject": {"reason": "不属于受理范围"},
          "reply": {"content": "已当面答复", "channel": "in_person"}, "close": {"note": "已化解"},
          "reopen": {"reason": "协议未履行"},
          "assign": {"unit": "村调委会", "unit_account": "demo-village", "responsible_area": VILLAGE},
          "handle": {"method": "mediation", "participants": "双方当事人", "conclusion": "已调解"}}
WHO = {"accept": OFFICE, "reject": OFFICE, "close": OFFICE, "reopen": OFFICE, "reply": UNIT, "evaluate": EVALUATOR,
       "assign": OFFICE, "handle": UNIT}
KEYS = ("accept_timely", "unit_accept_timely", "reply_on_time", "close_on_time", "evaluation_rate", "evaluated_satisfaction",
        "public_satisfaction", "one_time", "resolution", "repeat")


def moment(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def D(day: str) -> dt.date:
    return dt.date.fromisoformat(day)


@pytest.fixture
def written(app, client, monkeypatch):
    """The matters, written by sync with the clock at each document's time; {name: dispute id}."""
    events = []
    ids = {}
    for name, area, registered, phone, steps in MATTERS:
        ids[name] = f"dispute-fig-{name}-{uuid.uuid4().hex[:6]}"
        party = {"name": "王五", "role": "applicant", **({"phone": phone} if phone else {})}
        doc = {"type": "dispute", "area": area, "created_by": "demo-admin", "created_at": moment(registered, 9).isoformat(),
               "summary": f"纠纷{name}", "parties": [party], "category": "neighbourhood", "risk_level": "low",
               "status": "registered"}
        events.append((moment(registered, 9), "demo-admin", ids[name], doc))
        for i, (kind, day, fields) in enumerate(steps):
            who = WHO[kind] if area == VILLAGE else "demo-admin"
            extra = dict(FIELDS.get(kind, {}), **(EVAL if kind == "evaluate" else {}), **fields)
            if kind == "reply":
                extra["date"] = day
            step = {"type": "matter_step", "area": area, "matter_id": ids[name], "kind": kind, "created_by": who,
                    "created_at": moment(day, 10 + i % 8).isoformat(), "at": moment(day, 10 + i % 8).isoformat(), **extra}
            events.append((moment(day, 10 + i % 8), who, f"step-{ids[name]}~{i}", step))
    put_in_time_order(client, events)
    monkeypatch.setattr(clock, "now", lambda: TODAY)
    return ids


# -- the test's own count, from the documents it wrote ---------------------------------------------------------

def facts(spec) -> dict:
    name, area, registered, phone, steps = spec
    reg = D(registered)
    decided = next((D(d) for k, d, _ in steps if k in ("accept", "reject")), None)
    accepted = next((D(d) for k, d, _ in steps if k == "accept"), None)
    replied = next((D(d) for k, d, _ in steps if k == "reply"), None)
    results = [f["result"] for k, _, f in steps if k == "evaluate"]
    finished, reopened, stage = None, 0, "registered"
    for k, d, _ in steps:
        if k == "close":
            finished, stage = D(d), "closed"
        elif k == "reopen":
            finished, reopened, stage = None, reopened + 1, "handling"
        elif k == "reject":
            stage = "rejected"
        elif stage not in ("closed",):
            stage = {"accept": "accepted", "reply": "replied", "evaluate": "evaluated"}.get(k, stage)
    digits = "".join(c for c in (phone or "") if c.isdigit())
    assigned = max((D(d) for k, d, _ in steps if k == "assign"), default=None)
    acted = next((D(d) for k, d, _ in steps if k in ("handle", "reply") and assigned and D(d) >= assigned), None)
    return {"unit_due": assigned + dt.timedelta(days=ACCEPT_DAYS) if assigned else None, "unit_acted": acted,
            "name": name, "area": area, "registered": reg, "accept_due": reg + dt.timedelta(days=ACCEPT_DAYS),
            "decided": decided, "handle_due": accepted + dt.timedelta(days=HANDLE_DAYS) if accepted else None,
            "replied": replied, "evaluation": results[-1] if results else None, "finished": finished,
            "reopened": reopened, "stage": stage, "phone": digits or None}


def expected(key: str, since: str, until: str, area_prefix: str) -> tuple[set[str], set[str]]:
    """(denominator, numerator) names of the figure, by its words on the page."""
    lo, hi, today = D(since), D(until), TODAY.date()
    everything = [facts(s) for s in MATTERS]
    den, num = set(), set()
    for f in everything:
        if not f["area"].startswith(area_prefix):
            continue
        inside = lambda day: day is not None and lo <= day <= hi  # noqa: E731
        if key == "accept_timely":
            on_time = f["decided"] is not None and f["decided"] <= f["accept_due"]
            counted_on = f["decided"] if on_time else f["accept_due"]
            if inside(counted_on) and (f["decided"] or f["accept_due"] < today):
                den.add(f["name"]), on_time and num.add(f["name"])
        elif key == "unit_accept_timely":
            if f["unit_due"] is None:
                continue
            on_time = f["unit_acted"] is not None and f["unit_acted"] <= f["unit_due"]
            counted_on = f["unit_acted"] if on_time else f["unit_due"]
            if inside(counted_on) and (f["unit_acted"] or f["unit_due"] < today):
                den.add(f["name"]), on_time and num.add(f["name"])
        elif key in ("reply_on_time", "close_on_time"):
            if f["handle_due"] is None:
                continue
            done = f["replied"] if key == "reply_on_time" else f["finished"]
            on_time = done is not None and done <= f["handle_due"]
            counted_on = done if on_time else f["handle_due"]
            still = f["stage"] not in ("closed", "rejected") if key == "reply_on_time" else f["stage"] != "rejected"
            if inside(counted_on) and (done is not None or (still and f["handle_due"] < today)):
                den.add(f["name"]), on_time and num.add(f["name"])
        elif key in ("evaluation_rate", "evaluated_satisfaction"):
            if inside(f["replied"]) and (key == "evaluation_rate" or f["evaluation"]):
                den.add(f["name"])
                ok = f["evaluation"] is not None if key == "evaluation_rate" else f["evaluation"] in ("satisfied", "basically")
                ok and num.add(f["name"])
        elif key in ("public_satisfaction", "one_time"):
            if inside(f["finished"]):
                den.add(f["name"])
                ok = f["evaluation"] in ("satisfied", "basically") if key == "public_satisfaction" else not f["reopened"]
                ok and num.add(f["name"])
        elif key in ("resolution", "repeat"):
            if inside(f["registered"]):
                den.add(f["name"])
                if key == "resolution":
                    f["stage"] == "closed" and num.add(f["name"])
                elif f["phone"] and any(o["phone"] == f["phone"] and o["name"] != f["name"]
                                        and f["registered"] - dt.timedelta(days=365) <= o["registered"] < f["registered"]
                                        for o in everything):
                    num.add(f["name"])
    return den, num


def rate(num: int, den: int) -> float | None:
    return num / den if den else None


# -- reading the page -------------------------------------------------------------------------------------------

def row_of(page: str, key: str) -> str:
    start = page.index(f'id="fig-{key}"')
    return page[start:page.index("</tr>", start)]


def cell(row: str, cls: str) -> str:
    return html.unescape(re.search(rf'<td class="{cls}">(.*?)</td>', row, re.S).group(1))


def links(row: str, cls: str) -> tuple[tuple[str, int], tuple[str, int]]:
    found = re.findall(r'<a class="(num|den)" href="([^"]+)">(\d+)</a>', cell(row, cls))
    by = {part: (href, int(n)) for part, href, n in found}
    return by["num"], by["den"]


def listed(client, href: str, ids: dict) -> set[str]:
    r = client.get(href)
    assert r.status_code == 200, (href, r.text[:300])
    names = {v: k for k, v in ids.items()}
    shown = set(re.findall(r'href="/ledger/dispute/([^"]+)"', r.text))
    assert shown <= set(names), shown - set(names)  # nothing but the matters of the test in these periods
    return {names[i] for i in shown}


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def test_every_figure_and_its_records(app, client, written):
    township = app.test_client()
    login(township, "demo-township")
    page = township.get(f"/ledger/figures?since={NOW[0]}&until={NOW[1]}")
    assert page.status_code == 200, page.text[:500]
    text = html.unescape(page.text)
    for words in ("及时受理率", "责任单位及时受理率", "按期答复率", "按期办结率", "参评率", "参评满意率", "群众满意率", "一次性化解率",
                  "化解率", "重复信访率", "去年同期", "未参评的按不满意计", "以手机号识别"):
        assert words in text, words
    for key in KEYS:
        row = row_of(page.text, key)
        assert 'class="definition">分母：' in row and "分子：" in row, key
        rates = []
        for (since, until), cls in ((NOW, "now"), (BEFORE, "before")):
            den, num = expected(key, since, until, TOWNSHIP)
            (num_href, num_n), (den_href, den_n) = links(row, "basis-" + cls)
            assert (num_n, den_n) == (len(num), len(den)), (key, cls, num, den)
            assert cell(row, "rate-" + cls) == pct(rate(len(num), len(den))), key
            assert f"since={since}" in num_href and f"until={until}" in den_href
            assert listed(township, num_href.replace("&amp;", "&"), written) == num, (key, cls)
            assert listed(township, den_href.replace("&amp;", "&"), written) == den, (key, cls)
            rates.append(rate(len(num), len(den)))
        change = "—" if None in rates else f"{(rates[0] - rates[1]) * 100:+.1f}"
        assert cell(row, "change") == change, key

    # the set is not trivial: the figures differ, and last year has its own
    got = {key: links(row_of(page.text, key), "basis-now") for key in KEYS}
    assert got["accept_timely"][0][1] == 3 and got["accept_timely"][1][1] == 5  # A, C, E on time; B late, D never
    assert got["repeat"][0][1] == 2  # C (A's phone, written otherwise), E (F's phone last year)
    assert got["one_time"][0][1] == 2 and got["one_time"][1][1] == 3  # E was reopened
    assert got["unit_accept_timely"][0][1] == 1 and got["unit_accept_timely"][1][1] == 2  # A in 7 days; B in 22

    # scope: the township sees none of another township's matters, nor that township's figures
    assert township.get(f"/ledger/figures?area={OTHER_TOWNSHIP}").status_code == 403
    assert township.get(f"/ledger/disputes?area={OTHER_TOWNSHIP}&figure=resolution&since={NOW[0]}&until={NOW[1]}").status_code == 403
    district = app.test_client()
    login(district, "demo-district")
    other = district.get(f"/ledger/figures?area={OTHER_TOWNSHIP}&since={NOW[0]}&until={NOW[1]}")
    (_, num_n), (den_href, den_n) = links(row_of(other.text, "resolution"), "basis-now")
    assert (num_n, den_n) == (1, 1) and listed(district, den_href.replace("&amp;", "&"), written) == {"X"}
    whole = district.get(f"/ledger/figures?since={NOW[0]}&until={NOW[1]}")
    assert links(row_of(whole.text, "resolution"), "basis-now")[1][1] == len(expected("resolution", *NOW, "990101")[0])


def test_bad_parameters_are_refused(app, client):
    township = app.test_client()
    login(township, "demo-township")
    for query in ("since=2031-06-30&until=2031-01-01", "since=2031-02-30", "until=yesterday",
                  "since=2020-01-01&until=2031-01-01"):
        assert township.get(f"/ledger/figures?{query}").status_code == 400, query
    for query in ("figure=bogus", "figure=repeat&part=half", "figure=repeat&since=2031-13-01",
                  "figure=repeat&page=0"):
        assert township.get(f"/ledger/disputes?{query}").status_code == 400, query


def test_the_figures_are_the_same_after_a_rebuild_from_an_emptied_table(app, client, written):
    township = app.test_client()
    login(township, "demo-township")
    path = f"/ledger/figures?since={NOW[0]}&until={NOW[1]}"
    table = lambda page: page[page.index('id="matter-figures"'):page.index("</table>", page.index('id="matter-figures"'))]  # noqa: E731
    before = table(township.get(path).text)
    from server.core.store import get_store
    from server.services.matters.tables import states
    with app.app_context():
        with get_store().writing() as conn:
            conn.execute(states.delete())
    assert table(township.get(path).text) != before
    result = app.test_cli_runner().invoke(args=["projections", "rebuild"])
    assert result.exit_code == 0, result.output
    assert table(township.get(path).text) == before
