"""Personal data on the demo district (SQLite and PostgreSQL): the township handling a matter sees its
parties whole; the district supervisor who only supervises sees them masked on the file, in the
disputes' XLSX and CSV exports and in the API, until an assign step names them; a cadre of another
village gets 404; each opening is one row of the file access log, which only the district reads.
Masked means the full name and phone are nowhere in the response's bytes (attributes, titles, every
part of the XLSX)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from .test_ledger import basic, csrf
from .test_matters import START, at, api_token, browser, web_step  # noqa: F401  (at: a fixture)

pytestmark = pytest.mark.demo

DISTRICT, TOWNSHIP, VILLAGE = "990101", "990101001", "990101001001"
NAME, PHONE, OTHER = "王建国", "13812344567", "李秀英"
SECRETS = [s.encode() for s in (NAME, PHONE, OTHER)]


def register(client) -> str:
    doc_id = f"dispute-{uuid.uuid4()}"
    doc = {"type": "dispute", "area": VILLAGE, "created_by": "demo-village", "created_at": START.isoformat(),
           "summary": f"{NAME}与{OTHER}宅基地边界争议，联系电话{PHONE}",
           "parties": [{"name": NAME, "role": "applicant", "phone": PHONE}, {"name": OTHER, "role": "respondent"}],
           "category": "homestead", "risk_level": "high", "status": "registered"}
    r = client.put(f"/paicha/{doc_id}", json=doc, headers={**basic("demo-village"), "X-Paicha-Device": "phone-1"})
    assert r.status_code == 201, r.text
    return doc_id


def openings(app, matter: str) -> list:
    from server.core.db import db  # the app's engine exists only inside the app
    from server.core.models import FileOpening  # the table, after the app has set up the models

    with app.app_context():
        with db.engine.connect() as conn:
            t = FileOpening.__table__
            return list(conn.execute(sa.select(t).where(t.c.matter_id == matter).order_by(t.c.id)))


def no_secrets(data: bytes) -> None:
    for secret in SECRETS:
        assert secret not in data, secret.decode()


def xlsx_parts(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return b"".join(z.read(n) for n in z.namelist())


@pytest.fixture
def matter(client, at):  # noqa: F811  (the fixture imported above)
    return register(client)


def test_the_township_handling_it_sees_the_parties_whole(app, matter):
    township = browser(app, "demo-township")
    before = len(openings(app, matter))
    r = township.get(f"/ledger/dispute/{matter}")
    assert r.status_code == 200
    assert NAME in r.text and PHONE in r.text and OTHER in r.text and 'id="masked-note"' not in r.text
    assert 'id="file-openings"' not in r.text  # the log is the district's
    rows = openings(app, matter)
    assert len(rows) == before + 1
    row = rows[-1]
    assert (row.account, row.role, row.interface, row.unmasked, row.area) == (
        "demo-township", "township_staff", "ledger_page", True, VILLAGE)
    assert abs((row.at.replace(tzinfo=row.at.tzinfo or dt.timezone.utc) - START).total_seconds()) < 5


def test_the_district_supervisor_sees_them_masked_everywhere(app, client, matter):
    district = browser(app, "demo-district")
    before = len(openings(app, matter))
    r = district.get(f"/ledger/dispute/{matter}")
    assert r.status_code == 200
    no_secrets(r.data)
    assert "王＊＊" in r.text and "138****4567" in r.text and "李＊＊" in r.text and 'id="masked-note"' in r.text
    assert 'id="file-openings"' in r.text and "demo-district" in r.text  # the last openings, this one among them
    rows = openings(app, matter)
    assert len(rows) == before + 1 and rows[-1].interface == "ledger_page" and rows[-1].unmasked is False

    for path in (f"/ledger/disputes?area={VILLAGE}", "/ledger/?area=" + TOWNSHIP, "/ledger/quarterly?quarter=2026Q4"):
        page = district.get(path)
        assert page.status_code == 200, path
        no_secrets(page.data)
    assert "王＊＊与李＊＊宅基地边界争议" in district.get(f"/ledger/disputes?area={VILLAGE}").text

    x = district.get(f"/ledger/disputes.xlsx?area={VILLAGE}")
    assert x.status_code == 200 and x.mimetype.endswith("spreadsheetml.sheet")
    no_secrets(xlsx_parts(x.data))
    sheet = load_workbook(io.BytesIO(x.data))["矛盾纠纷"]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    mine = next(row for row in cells if row[0] == matter)
    assert "王＊＊；李＊＊" in mine and "138****4567；" in mine
    assert sheet.max_column == len(cells[0])  # no column beyond the header's, hidden or not
    c = district.get(f"/ledger/disputes.csv?area={VILLAGE}")
    assert c.status_code == 200
    no_secrets(c.data)
    mine = next(row for row in csv.reader(io.StringIO(c.data.decode("utf-8-sig"))) if row[0] == matter)
    assert "王＊＊；李＊＊" in mine
    rows = openings(app, matter)
    assert [(r.interface, r.unmasked) for r in rows[-2:]] == [("export", False), ("export", False)]

    token = api_token(client, "demo-district")
    one = client.get(f"/api/v1/disputes/{matter}", headers=token)
    assert one.status_code == 200
    no_secrets(one.data)
    assert one.json["parties"][0] == {"name": "王＊＊", "role": "applicant", "phone": "138****4567"}
    listed = client.get(f"/api/v1/disputes?area={VILLAGE}&limit=200", headers=token)
    assert listed.status_code == 200 and matter in [d["id"] for d in listed.json["items"]]
    no_secrets(listed.data)
    steps = client.get(f"/api/v1/disputes/{matter}/steps", headers=token)
    assert steps.status_code == 200
    rows = openings(app, matter)
    assert [(r.account, r.interface, r.unmasked) for r in rows[-2:]] == [("demo-district", "api", False)] * 2


def test_a_district_supervisor_named_responsible_sees_them_whole(app, client, matter):
    township = browser(app, "demo-township")
    assert web_step(township, matter, "accept").status_code == 302
    r = web_step(township, matter, "assign", unit="区矛调中心", unit_account="demo-district",
                 responsible_area=DISTRICT)
    assert r.status_code == 302, r.text[:800]
    district = browser(app, "demo-district")
    page = district.get(f"/ledger/dispute/{matter}")
    assert NAME in page.text and PHONE in page.text and 'id="masked-note"' not in page.text
    assert openings(app, matter)[-1].unmasked is True
    token = api_token(client, "demo-district")
    assert client.get(f"/api/v1/disputes/{matter}", headers=token).json["parties"][0]["name"] == NAME
    x = district.get(f"/ledger/disputes.csv?area={VILLAGE}")
    assert NAME.encode() in x.data


def test_a_cadre_of_another_village_gets_404(app, client, matter):
    token = api_token(client, "demo-village2")
    before = len(openings(app, matter))
    r = client.get(f"/api/v1/disputes/{matter}", headers=token)
    assert r.status_code == 404
    no_secrets(r.data)
    assert client.get(f"/api/v1/disputes/{matter}/steps", headers=token).status_code == 404
    assert len(openings(app, matter)) == before  # nothing opened, nothing logged
    own = api_token(client, "demo-village")
    r = client.get(f"/api/v1/disputes/{matter}", headers=own)
    assert r.status_code == 200 and r.json["parties"][0]["name"] == NAME
    assert (openings(app, matter)[-1].account, openings(app, matter)[-1].unmasked) == ("demo-village", True)


def test_replication_keeps_the_document_whole_for_the_areas_phones(client, matter):
    r = client.get(f"/paicha/{matter}", headers=basic("demo-village"))
    assert r.status_code == 200 and r.json["parties"][0] == {"name": NAME, "role": "applicant", "phone": PHONE}


def test_the_access_log_is_the_districts(app, matter):
    township = browser(app, "demo-township")
    township.get(f"/ledger/dispute/{matter}")
    r = township.get("/ledger/access-log")
    assert r.status_code == 403 and "档案查阅记录仅供区级督查和管理员查看" in r.text
    assert 'id="nav-access-log"' not in township.get("/ledger/").text

    district = browser(app, "demo-district")
    page = district.get(f"/ledger/access-log?matter={matter}")
    assert page.status_code == 200 and "档案查阅记录" in page.text
    assert f'data-matter="{matter}" data-account="demo-township" data-interface="ledger_page" data-unmasked="1"' in page.text
    no_secrets(page.data)
    only = district.get(f"/ledger/access-log?matter={matter}&account=demo-district")
    assert 'data-account="demo-township"' not in only.text
    day = START.date().isoformat()
    assert f'data-matter="{matter}"' in district.get(f"/ledger/access-log?matter={matter}&since={day}&until={day}").text
    assert f'data-matter="{matter}"' not in district.get(f"/ledger/access-log?matter={matter}&since=2027-01-01").text
    for bad in ("since=2026-13-01", "page=0", "since=2026-12-21&until=2026-12-20", "account=%00x"):
        assert district.get(f"/ledger/access-log?{bad}").status_code == 400, bad


def test_a_notice_quoting_the_parties_is_masked_for_the_district_and_whole_for_the_township(app, matter):
    district = browser(app, "demo-district")
    token = csrf(district, "/ledger/notice")
    r = district.post("/ledger/notice", data={
        "csrf_token": token, "target_area": VILLAGE, "subject": f"督促化解{NAME}与{OTHER}宅基地纠纷",
        "body": f"请联系{NAME}（{PHONE}），于月底前答复。", "deadline": "2027-01-31", "dispute_id": matter,
        "kind": "topical", "priority": "key", "method": "online"})
    assert r.status_code in (200, 302), r.text[:300]
    notices = district.get(f"/ledger/notices?area={VILLAGE}")
    assert notices.status_code == 200 and "督促化解王＊＊与李＊＊宅基地纠纷" in notices.text
    no_secrets(notices.data)
    notice_id = re.search(r'href="/ledger/notice/(notice-[^"]+)"', notices.text).group(1)
    page = district.get(f"/ledger/notice/{notice_id}")
    assert page.status_code == 200 and "138****4567" in page.text
    no_secrets(page.data)
    api = district.get("/api/v1/notices", headers=api_token(district, "demo-district"))
    assert api.status_code == 200 and any(i["id"] == notice_id for i in api.json["items"])
    no_secrets(api.data)
    township = browser(app, "demo-township")
    whole = township.get(f"/ledger/notice/{notice_id}")
    assert NAME in whole.text and PHONE in whole.text
