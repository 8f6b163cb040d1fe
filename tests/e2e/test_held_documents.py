"""A stored document a phone cannot take (written by an older version, before today's checks) is
found by `flask store check`, held back from the feed with its reason, and served again once a valid
revision replaces it; meanwhile the village's phones sync everything else."""
from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from support.cli import flask_cli
from support.http import Couch
from support.server import ServerProcess

DB = "paicha"
PW = "demo-password"
VILLAGE = "990101001001"


@pytest.fixture(scope="module")
def demo(store_kind, stores):
    srv = ServerProcess(stores.new(store_kind, "demo"), name=f"held-{store_kind}", env={"PAICHA_DEMO": "1"})
    srv.start()
    yield srv
    srv.close()


def flask(srv, *args, in_process: bool = True):
    return flask_cli(srv.database_url, *args, in_process=in_process)


def dispute(doc_id, **extra):
    return {"_id": doc_id, "type": "dispute", "area": VILLAGE, "created_by": "demo-village",
            "created_at": "2026-11-20T10:00:00+08:00", "summary": "（测试）邻里纠纷",
            "parties": [{"name": "甲", "role": "applicant"}], "category": "neighbourhood",
            "risk_level": "low", "status": "registered", **extra}


def rename_stored_attachment(srv, doc_id: str, rev: str, new_name: str) -> None:
    """What an older version let through: the stored revision's attachment under a name that a
    reader cannot fetch."""
    engine = sa.create_engine(srv.database_url)
    try:
        with engine.begin() as conn:
            body = conn.execute(sa.text("SELECT body FROM sync_revisions WHERE doc_id = :d AND rev = :r"),
                                {"d": doc_id, "r": rev}).scalar_one()
            doc = json.loads(body)
            doc["_attachments"] = {new_name: stub for stub in doc["_attachments"].values()}
            conn.execute(sa.text("UPDATE sync_revisions SET body = :b WHERE doc_id = :d AND rev = :r"),
                         {"b": json.dumps(doc, ensure_ascii=False), "d": doc_id, "r": rev})
    finally:
        engine.dispose()


def test_an_unreadable_stored_document_is_held_back_and_served_again_when_fixed(demo, device_factory):
    cadre = Couch(demo.url, ("demo-village", PW))
    tag = uuid.uuid4().hex[:6]
    bad, good = f"old-{tag}", f"fine-{tag}"
    attached = dispute(bad, _attachments={"photo.jpg": {"content_type": "image/jpeg", "data": "aGk="}})
    rev = cadre.ok_json("PUT", f"{DB}/{bad}", json=attached)["rev"]
    cadre.ok_json("PUT", f"{DB}/{good}", json=dispute(good))
    rename_stored_attachment(demo, bad, rev, "_x")

    stuck = device_factory("before", auth={"username": "demo-village", "password": PW})
    blocked = stuck.pull(f"{demo.url}/{DB}", check=False)
    assert not blocked.get("ok"), "the premise: such a document stops a PouchDB pull"

    found = flask(demo, "store", "check", in_process=False)  # the `flask` script itself
    assert found.returncode == 0, found.stderr
    assert f"{bad}\t{rev}\tAttachment name '_x' starts with prohibited character '_'" in found.stdout
    assert "1 document(s) found" in found.stdout
    assert good not in found.stdout

    held = flask(demo, "store", "check", "--hold")
    assert held.returncode == 0 and "1 document(s) held back" in held.stdout
    listing = flask(demo, "store", "held")
    assert bad in listing.stdout and "prohibited character" in listing.stdout

    feed_ids = [r["id"] for r in cadre.ok_json("GET", f"{DB}/_changes")["results"]]
    assert good in feed_ids and bad not in feed_ids
    phone = device_factory("cadre", auth={"username": "demo-village", "password": PW})
    pulled = phone.pull(f"{demo.url}/{DB}")
    assert pulled["ok"], pulled
    docs = phone.docs()
    assert good in docs and bad not in docs

    # A valid revision replaces the held one: served again, with no release needed.
    fixed = dispute(bad, _rev=rev, summary="（测试）已更正")
    fixed["_attachments"] = {}
    new_rev = cadre.ok_json("PUT", f"{DB}/{bad}", json=fixed)["rev"]
    again = phone.pull(f"{demo.url}/{DB}")
    assert again["ok"], again
    assert phone.get(bad)["_rev"] == new_rev

    assert flask(demo, "store", "release", bad).returncode == 0
    assert "nothing is held back" in flask(demo, "store", "held").stdout
    assert flask(demo, "store", "release", bad).returncode != 0
