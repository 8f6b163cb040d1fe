"""The administrator's command line: areas and accounts import, the quarantine, the audit trail."""
from __future__ import annotations

import base64
import json

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.demo  # the demo district's accounts and areas in `app`

PW = "demo-password"


def basic(name, password=PW):
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def test_areas_import_from_csv_and_json(app, runner, tmp_path):
    csv_file = tmp_path / "areas.csv"
    csv_file.write_text("code,name\n880101,新区\n880101001,新镇\n880101001001,新村\n", encoding="utf-8")
    result = runner.invoke(args=["areas", "import", str(csv_file)])
    assert result.exit_code == 0, result.output
    assert "3 areas created" in result.output
    json_file = tmp_path / "areas.json"
    json_file.write_text(json.dumps({"areas": [{"code": "880101001002", "name": "二村", "level": "village"}]}))
    assert "1 areas created" in runner.invoke(args=["areas", "import", str(json_file)]).output
    from server.core.db import db
    from server.core.models import Area

    with app.app_context():
        village = db.session.get(Area, "880101001002")
        assert village.level == "village" and village.parent_code == "880101001"


def test_areas_import_refuses_bad_codes_and_changes_nothing(app, runner, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\n880102,好区\n88010,坏码\n", encoding="utf-8")
    result = runner.invoke(args=["areas", "import", str(bad)])
    assert result.exit_code != 0 and "88010" in result.output
    orphan = tmp_path / "orphan.csv"
    orphan.write_text("code,name\n770101001001,孤村\n", encoding="utf-8")
    result = runner.invoke(args=["areas", "import", str(orphan)])
    assert result.exit_code != 0 and "parent" in result.output
    from server.core.db import db
    from server.core.models import Area

    with app.app_context():
        assert db.session.get(Area, "880102") is None


def test_users_add_and_import(app, runner, client, tmp_path):
    result = runner.invoke(args=["users", "add", "li.ming", "--role", "village_cadre", "--scope", "990101001003",
                                 "--password", "long-enough-pw"])
    assert result.exit_code == 0, result.output
    assert client.get("/paicha", headers=basic("li.ming", "long-enough-pw")).status_code == 200
    bad = runner.invoke(args=["users", "add", "x.y", "--role", "village_cadre", "--scope", "990101",
                              "--password", "long-enough-pw"])
    assert bad.exit_code != 0 and "12-digit" in bad.output
    people = tmp_path / "people.csv"
    people.write_text("name,role,scope,display_name\nwang.fang,township_staff,990101002,王芳\n"
                      "zhou.jie,village_cadre,990101002001,周杰\n", encoding="utf-8")
    result = runner.invoke(args=["users", "import", str(people)])
    assert result.exit_code == 0, result.output
    generated = dict(line.split("\t") for line in result.output.splitlines() if "\t" in line)
    assert set(generated) == {"wang.fang", "zhou.jie"}
    assert client.get("/paicha", headers=basic("zhou.jie", generated["zhou.jie"])).status_code == 200


def test_quarantine_keeps_refused_work_and_readmits_it(app, runner, client):
    doc = {"_id": "q-dispute", "type": "dispute", "area": "990101001001", "created_by": "demo-village",
           "created_at": "2026-11-20T10:00:00+08:00", "summary": "旧版应用写的纠纷", "category": "debt",
           "parties": [{"name": "甲", "role": "applicant"}], "risk_level": "low", "status": "registered",
           "legacy_field": "an older app sent this"}
    r = client.post("/paicha/_bulk_docs", json={"docs": [doc]}, headers=basic("demo-village"))
    assert r.json[0]["error"] == "forbidden" and "legacy_field" in r.json[0]["reason"]
    listing = runner.invoke(args=["quarantine", "list"]).output
    assert "q-dispute" in listing
    entry_id = int(listing.split("\t")[0].lstrip("#"))
    shown = runner.invoke(args=["quarantine", "show", str(entry_id)]).output
    assert "an older app sent this" in shown
    # The document itself is fixed by an administrator's decision: re-admitting checks it again.
    still = runner.invoke(args=["quarantine", "readmit", str(entry_id), "--as", "demo-admin"])
    assert still.exit_code != 0 and "still refused" in still.output
    from server.core.db import db
    from server.core.models import QuarantinedDoc

    with app.app_context():
        entry = db.session.get(QuarantinedDoc, entry_id)
        body = json.loads(entry.body)
        del body["legacy_field"]
        entry.body = json.dumps(body)
        db.session.commit()
    done = runner.invoke(args=["quarantine", "readmit", str(entry_id), "--as", "demo-admin"])
    assert done.exit_code == 0, done.output
    assert client.get("/paicha/q-dispute", headers=basic("demo-village")).json["summary"] == "旧版应用写的纠纷"
    assert "q-dispute" not in runner.invoke(args=["quarantine", "list"]).output


def test_devices_report_who_has_not_synced(app, runner, client):
    stale = runner.invoke(args=["devices", "stale", "--days", "7"]).output
    assert "demo-village\t" in stale and "never" in stale
    r = client.put("/paicha/_local/rep-1", json={"last_seq": 3}, headers={**basic("demo-village"),
                                                                          "X-Paicha-Device": "phone-9"})
    assert r.status_code == 201
    stale = runner.invoke(args=["devices", "stale", "--days", "7"]).output
    assert "demo-village\t" not in stale and "demo-village2\t" in stale
    from server.core.db import db
    from server.core.models import Device

    with app.app_context():
        [device] = db.session.execute(sa.select(Device)).scalars()
        assert device.device_id == "phone-9" and device.last_sync_at is not None


def test_checkpoints_record_a_devices_sync_once_a_minute(app, client):
    import datetime as dt

    from server.core.db import db
    from server.core.models import Device

    def checkpoint(n):
        r = client.put(f"/paicha/_local/rep-2-{n}", json={"last_seq": n},
                       headers={**basic("demo-village2"), "X-Paicha-Device": "phone-10"})
        assert r.status_code == 201

    def last_sync():
        with app.app_context():
            return db.session.execute(sa.select(Device.last_sync_at).where(Device.device_id == "phone-10")).scalar_one()

    checkpoint(1)
    first = last_sync()
    checkpoint(2)  # the next batch, a moment later: no new write
    assert last_sync() == first
    recorded = app.extensions["paicha_device_syncs"]
    for key in [k for k in recorded if k[1] == "phone-10"]:
        recorded[key] -= dt.timedelta(minutes=2)  # as if the last write were two minutes old
    checkpoint(3)
    assert last_sync() > first
