"""The district files its own rounds on the web (the monthly screening, the quarterly round-up with
its conclusions, key disputes and follow-up), and a township its own: written as synced
`screening_report` documents under the same rules as a phone's, so the ledger counts them. Who may
file what is tried from every side. SQLite and PostgreSQL, on the demo district."""
from __future__ import annotations

import re

import pytest

from .test_ledger import basic, csrf, login

pytestmark = pytest.mark.demo

DISTRICT, TOWNSHIP, OTHER_TOWNSHIP, VILLAGE = "990101", "990101001", "990101002", "990101001001"
ROW = re.compile(r'<tr data-round="([^"]+)" data-report="([^"]*)">(.*?)</tr>', re.S)


def rounds(client, level: str) -> dict[str, tuple[str, str]]:
    """round id -> (report id, the row's HTML) on the ledger page of that level (this year)."""
    r = client.get(f"/ledger/ledger?level={level}&since=2026-01-01&until=2026-12-31")
    assert r.status_code == 200
    return {m.group(1): (m.group(2), m.group(3)) for m in ROW.finditer(r.text)}


def current(client, level: str) -> str:
    return max(rounds(client, level))  # round ids end with the period's first day


@pytest.fixture
def district(client):
    login(client, "demo-district")
    return client


def test_the_district_files_its_monthly_round_and_the_ledger_counts_it(district, client):
    round_id = current(district, "district")
    _, row = rounds(district, "district")[round_id]
    assert f"/ledger/round/{round_id}/file" in row and "填报" in row
    page = f"/ledger/round/{round_id}/file"
    form = district.get(page)
    assert form.status_code == 200 and "填报本级排查" in form.text and "零报告" in form.text
    token = csrf(district, page)
    r = district.post(page, data={"csrf_token": token, "summary": "本月全区排查，未发现新的区级矛盾纠纷。"})
    assert r.status_code == 422 and "零报告" in r.text  # neither a dispute picked nor a nil report
    r = district.post(page, data={"csrf_token": token, "nil_report": "1", "summary": "本月全区排查，未发现新的区级矛盾纠纷。"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"{page}?saved=1")
    doc = client.get(f"/paicha/report-{round_id}", headers=basic("demo-district")).json
    assert doc["type"] == "screening_report" and doc["area"] == DISTRICT and doc["round_id"] == round_id
    assert doc["nil_report"] is True and doc["created_by"] == "demo-district" and doc["submitted_at"]
    report_id, row = rounds(district, "district")[round_id]
    assert report_id == f"report-{round_id}" and "s-on_time" in row and "更正" in row
    assert "报告已报送" in district.get(f"{page}?saved=1").text


def test_the_quarterly_round_up_needs_conclusions_and_keeps_its_picks(district, client):
    round_id = current(district, "quarterly")
    page = f"/ledger/round/{round_id}/file"
    text = district.get(page).text
    assert "研判结论" in text and "后续工作" in text
    key_ids = re.findall(r'name="key_disputes" value="([^"]+)"', text)
    assert key_ids, "the demo district has key disputes this quarter"
    token = csrf(district, page)
    data = {"csrf_token": token, "nil_report": "1", "summary": "季度研判会议纪要。",
            "key_disputes": key_ids[:2], "follow_action_0": "东山镇对宅基地纠纷开展专项排查",
            "follow_area_0": OTHER_TOWNSHIP, "follow_due_0": "2027-01-31", "follow_action_1": "",
            "follow_area_1": DISTRICT}
    r = district.post(page, data=data)
    assert r.status_code == 422 and "研判结论" in r.text
    r = district.post(page, data={**data, "conclusions": "本季度宅基地纠纷上升，重点关注东山镇。"})
    assert r.status_code == 302
    doc = client.get(f"/paicha/report-{round_id}", headers=basic("demo-district")).json
    assert doc["conclusions"] == "本季度宅基地纠纷上升，重点关注东山镇。"
    assert doc["key_disputes"] == key_ids[:2]
    assert doc["follow_up"] == [{"action": "东山镇对宅基地纠纷开展专项排查", "area": OTHER_TOWNSHIP,
                                 "due_date": "2027-01-31"}]
    # corrected: the same document, a new revision, the first filing time kept
    r = district.post(page, data={**data, "conclusions": "更正：重点关注东山镇石桥村。", "key_disputes": key_ids[:1]})
    assert r.status_code == 302
    again = client.get(f"/paicha/report-{round_id}", headers=basic("demo-district")).json
    assert again["_rev"].startswith("2-") and again["key_disputes"] == key_ids[:1]
    assert again["submitted_at"] == doc["submitted_at"] and again["updated_by"] == "demo-district"
    shown = district.get(f"/ledger/report/report-{round_id}").text
    assert "更正：重点关注东山镇石桥村。" in shown and "东山镇对宅基地纠纷开展专项排查" in shown


def test_a_township_files_its_own_round_but_not_the_districts(client):
    login(client, "demo-township")
    township_round = current(client, "township")
    assert f"/ledger/round/{township_round}/file" in rounds(client, "township")[township_round][1]
    page = f"/ledger/round/{township_round}/file"
    r = client.post(page, data={"csrf_token": csrf(client, page), "nil_report": "1"})
    assert r.status_code == 302
    assert client.get(f"/paicha/report-{township_round}", headers=basic("demo-township")).json["area"] == TOWNSHIP
    district_round = township_round.replace(f"township-{TOWNSHIP}", f"district-{DISTRICT}")
    assert client.get(f"/ledger/round/{district_round}/file").status_code in (403, 404)


@pytest.mark.parametrize("level", ["township", "village"])
def test_the_district_cannot_file_for_the_levels_below(district, level):
    round_id = current(district, level)
    _, row = rounds(district, level)[round_id]
    assert "file-link" not in row
    page = f"/ledger/round/{round_id}/file"
    assert district.get(page).status_code == 403
    token = csrf(district, "/ledger/")
    assert district.post(page, data={"csrf_token": token, "nil_report": "1"}).status_code == 403


def test_filing_needs_the_csrf_token_and_areas_in_scope(district, client):
    round_id = current(district, "quarterly")
    page = f"/ledger/round/{round_id}/file"
    assert district.post(page, data={"nil_report": "1", "conclusions": "x"}).status_code == 400
    token = csrf(district, page)
    r = district.post(page, data={"csrf_token": token, "nil_report": "1", "conclusions": "x",
                                  "follow_action_0": "跨区协调", "follow_area_0": "990201"})
    assert r.status_code == 403
    r = district.post(page, data={"csrf_token": token, "nil_report": "1", "conclusions": "x",
                                  "follow_action_0": "排查", "follow_area_0": TOWNSHIP, "follow_due_0": "31/12/2026"})
    assert r.status_code == 400
    assert district.get("/ledger/round/round-missing/file").status_code == 404
    assert district.get(f"/ledger/round/dispute-{VILLAGE}-01/file").status_code == 404  # not a round


def test_a_village_cadre_cannot_file_on_the_web_nor_write_the_districts_report_by_sync(client):
    login_page = client.post("/ledger/login", data={"name": "demo-village", "password": "demo-password",
                                                    "csrf_token": csrf(client)})
    assert login_page.status_code == 403
    doc = {"type": "screening_report", "area": DISTRICT, "created_by": "demo-village",
           "created_at": "2026-12-01T09:00:00+08:00", "round_id": f"round-district-{DISTRICT}-2026-12-01",
           "nil_report": True, "submitted_at": "2026-12-01T09:00:00+08:00"}
    r = client.put("/paicha/forged-district-report", json=doc, headers=basic("demo-village"))
    assert r.status_code == 403
    # the district supervisor by sync: the district's own report yes, a village's no
    own = {**doc, "created_by": "demo-district"}
    assert client.put("/paicha/district-report-by-sync", json=own, headers=basic("demo-district")).status_code == 201
    village = {**own, "area": VILLAGE, "round_id": f"round-village-{VILLAGE}-2026-12-01"}
    r = client.put("/paicha/village-report-by-district", json=village, headers=basic("demo-district"))
    assert r.status_code == 403 and "district's own reports" in r.json["reason"]
