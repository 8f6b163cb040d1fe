"""Who sees what: a village cadre tries to read or learn about another village's documents through
every endpoint, and to write where it may not. Everything must be refused, and refused the same way
an unknown document would be (no existence leak)."""
from __future__ import annotations

import json

import pytest
import requests

from support.cli import flask_cli as run_flask
from support.http import Couch, qs_json
from support.server import ServerProcess

DB = "paicha"
PW = "demo-password"
OWN = "990101001001"      # demo-village
NEIGHBOUR = "990101001002"  # demo-village2, same township
FOREIGN_DOC = f"dispute-{NEIGHBOUR}-01"
OWN_DOC = f"dispute-{OWN}-01"


@pytest.fixture(scope="module")
def demo(store_kind, stores):
    srv = ServerProcess(stores.new(store_kind, "demo"), name=f"scope-{store_kind}", env={"PAICHA_DEMO": "1"})
    srv.start()
    yield srv
    srv.close()


def as_user(srv, name) -> Couch:
    return Couch(srv.url, (name, PW))


def flask_cli(srv, *args) -> str:
    out = run_flask(srv.database_url, *args)
    assert out.returncode == 0, out.stderr
    return out.stdout


def foreign_rev(srv) -> str:
    return as_user(srv, "demo-admin").ok_json("GET", f"{DB}/{FOREIGN_DOC}")["_rev"]


# -- reads -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    {}, {"style": "all_docs"}, {"include_docs": "true"}, {"conflicts": "true", "include_docs": "true"},
    {"feed": "longpoll", "timeout": "1000"}, {"limit": "3"}, {"since": "0", "descending": "true"},
])
def test_changes_never_show_another_village(demo, params):
    cadre = as_user(demo, "demo-village")
    feed = cadre.ok_json("GET", f"{DB}/_changes", params=params)
    ids = [row["id"] for row in feed["results"]]
    assert ids, "the cadre's own village has documents"
    areas = {row["doc"]["area"] for row in feed["results"] if row.get("doc")}
    assert all(NEIGHBOUR not in i for i in ids)
    assert areas <= {OWN}


def test_changes_filters_cannot_widen_the_scope(demo):
    cadre = as_user(demo, "demo-village")
    by_ids = cadre.ok_json("POST", f"{DB}/_changes", params={"filter": "_doc_ids"},
                           json={"doc_ids": [FOREIGN_DOC, OWN_DOC]})
    assert [r["id"] for r in by_ids["results"]] == [OWN_DOC]
    by_selector = cadre.ok_json("POST", f"{DB}/_changes", params={"filter": "_selector", "include_docs": "true"},
                                json={"selector": {"area": NEIGHBOUR}})
    assert by_selector["results"] == []


def test_all_docs_is_scoped(demo):
    cadre = as_user(demo, "demo-village")
    listing = cadre.ok_json("GET", f"{DB}/_all_docs", params={"include_docs": "true"})
    assert listing["rows"] and all(r["doc"]["area"] == OWN for r in listing["rows"])
    assert listing["total_rows"] == len(listing["rows"])
    by_key = cadre.ok_json("POST", f"{DB}/_all_docs", json={"keys": [FOREIGN_DOC, "no-such-doc"]})
    assert by_key["rows"] == [{"key": FOREIGN_DOC, "error": "not_found"}, {"key": "no-such-doc", "error": "not_found"}]
    ranged = cadre.ok_json("GET", f"{DB}/_all_docs",
                           params={"startkey": qs_json(f"dispute-{NEIGHBOUR}"), "endkey": qs_json(f"dispute-{NEIGHBOUR}\uffff")})
    assert ranged["rows"] == []


def test_database_info_counts_only_what_the_cadre_sees(demo):
    own = as_user(demo, "demo-village").ok_json("GET", DB)
    everything = as_user(demo, "demo-admin").ok_json("GET", DB)
    assert 0 < own["doc_count"] < everything["doc_count"]


@pytest.mark.parametrize("params", [
    {}, {"revs": "true"}, {"revs_info": "true"}, {"conflicts": "true"}, {"open_revs": "all"},
    {"latest": "true", "rev": "REV"}, {"rev": "REV"}, {"open_revs": "[\"REV\"]"}, {"attachments": "true"},
])
def test_get_of_a_foreign_document_looks_missing(demo, params):
    rev = foreign_rev(demo)
    params = {k: v.replace("REV", rev) for k, v in params.items()}
    r = as_user(demo, "demo-village").get(f"{DB}/{FOREIGN_DOC}", params=params)
    unknown = as_user(demo, "demo-village").get(f"{DB}/no-such-doc", params={**params})
    if "open_revs" in params and params["open_revs"] != "all":
        assert r.status_code == 200 and r.json() == [{"missing": rev}]
    else:
        assert r.status_code == 404 and r.json() == {"error": "not_found", "reason": "missing"}
        assert unknown.status_code == 404 and unknown.json() == r.json()


def test_bulk_get_of_a_foreign_document_looks_missing(demo):
    rev = foreign_rev(demo)
    result = as_user(demo, "demo-village").ok_json(
        "POST", f"{DB}/_bulk_get", params={"revs": "true"}, json={"docs": [{"id": FOREIGN_DOC, "rev": rev}, {"id": FOREIGN_DOC}]})
    for entry in result["results"]:
        [doc] = entry["docs"]
        assert "ok" not in doc and doc["error"]["error"] == "not_found"


def test_revs_diff_does_not_reveal_foreign_documents(demo):
    rev = foreign_rev(demo)
    cadre = as_user(demo, "demo-village")
    diff = cadre.ok_json("POST", f"{DB}/_revs_diff", json={FOREIGN_DOC: [rev], "no-such-doc": [rev]})
    assert diff[FOREIGN_DOC] == {"missing": [rev]} == diff["no-such-doc"]


def test_attachments_of_foreign_documents_are_missing(demo):
    admin = as_user(demo, "demo-admin")
    rev = foreign_rev(demo)
    put = admin.put(f"{DB}/{FOREIGN_DOC}/photo.jpg", params={"rev": rev}, data=b"\xff\xd8secret",
                    headers={"Content-Type": "image/jpeg"})
    assert put.status_code == 201, put.text
    assert admin.get(f"{DB}/{FOREIGN_DOC}/photo.jpg").content == b"\xff\xd8secret"
    r = as_user(demo, "demo-village").get(f"{DB}/{FOREIGN_DOC}/photo.jpg")
    assert r.status_code == 404 and b"secret" not in r.content


def test_local_documents_are_private_to_each_account(demo):
    neighbour = as_user(demo, "demo-village2")
    assert neighbour.put(f"{DB}/_local/checkpoint-x", json={"last_seq": 42}).status_code == 201
    village = as_user(demo, "demo-village")
    assert village.get(f"{DB}/_local/checkpoint-x").status_code == 404
    # Writing over it with its revision, or deleting it, reaches only the writer's own checkpoints.
    assert village.put(f"{DB}/_local/checkpoint-x", json={"_rev": "0-1", "last_seq": 0}).status_code == 409
    assert village.delete(f"{DB}/_local/checkpoint-x", params={"rev": "0-1"}).status_code == 404
    assert village.put(f"{DB}/_local/checkpoint-x", json={"_deleted": True}).status_code == 404
    assert village.put(f"{DB}/_local/checkpoint-x", json={"last_seq": 7}).json()["rev"] == "0-1"  # its own
    assert neighbour.ok_json("GET", f"{DB}/_local/checkpoint-x") == {"_id": "_local/checkpoint-x", "_rev": "0-1",
                                                                      "last_seq": 42}
    assert village.ok_json("GET", f"{DB}/_local/checkpoint-x")["last_seq"] == 7


def test_not_logged_in_is_401_and_wrong_password_too(demo):
    assert requests.get(f"{demo.url}/{DB}/_changes", timeout=10).status_code == 401
    r = Couch(demo.url, ("demo-village", "wrong-password")).get(f"{DB}/_all_docs")
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


# -- writes ------------------------------------------------------------------------------------------

def _dispute(doc_id, area, by="demo-village", **extra):
    return {"_id": doc_id, "type": "dispute", "area": area, "created_by": by,
            "created_at": "2026-11-20T10:00:00+08:00", "summary": "（测试）邻里纠纷",
            "parties": [{"name": "甲", "role": "applicant"}], "category": "neighbourhood",
            "risk_level": "low", "status": "registered", **extra}


def test_a_batch_keeps_the_good_documents_and_refuses_the_bad_with_reasons(demo):
    cadre = as_user(demo, "demo-village")
    before = as_user(demo, "demo-admin").ok_json("GET", DB)["update_seq"]
    results = cadre.ok_json("POST", f"{DB}/_bulk_docs", json={"docs": [
        _dispute("t-ok-1", OWN),
        _dispute("t-into-neighbour", NEIGHBOUR),
        {"_id": "t-round", "type": "screening_round", "area": OWN, "created_by": "demo-village",
         "created_at": "2026-11-20T10:00:00+08:00", "level": "village", "period_start": "2026-11-11",
         "period_end": "2026-11-20", "due_date": "2026-11-20", "round_key": f"village:{OWN}:2026-11-11"},
        _dispute("t-forged-author", OWN, by="demo-village2"),
        {"_id": "t-unknown", "type": "gossip", "area": OWN},
        _dispute("t-ok-2", OWN),
    ]})
    by_id = {r["id"]: r for r in results}
    assert by_id["t-ok-1"]["ok"] and by_id["t-ok-2"]["ok"]
    for refused in ("t-into-neighbour", "t-round", "t-forged-author", "t-unknown"):
        assert by_id[refused]["error"] == "forbidden", by_id[refused]
        assert by_id[refused]["reason"]
    assert "calendar" in by_id["t-round"]["reason"] or "server" in by_id["t-round"]["reason"]
    admin = as_user(demo, "demo-admin")
    assert admin.get(f"{DB}/t-into-neighbour").status_code == 404
    # The two accepted documents, and the server's four refusal notices telling the cadre why.
    assert admin.ok_json("GET", DB)["update_seq"] == before + 2 + 4
    held = flask_cli(demo, "quarantine", "list")
    for refused in ("t-into-neighbour", "t-round", "t-forged-author", "t-unknown"):
        assert refused in held


def test_single_writes_out_of_scope_get_403_with_the_same_body(demo):
    cadre = as_user(demo, "demo-village")
    r = cadre.put(f"{DB}/t-single", json=_dispute("t-single", NEIGHBOUR))
    assert r.status_code == 403 and r.json()["error"] == "forbidden" and r.json()["reason"]


def test_cannot_overwrite_or_delete_a_foreign_document(demo):
    cadre = as_user(demo, "demo-village")
    rev = foreign_rev(demo)
    doc = as_user(demo, "demo-admin").ok_json("GET", f"{DB}/{FOREIGN_DOC}")
    r = cadre.put(f"{DB}/{FOREIGN_DOC}", json={**doc, "area": OWN, "summary": "hijacked"})
    assert r.status_code == 403
    assert cadre.delete(f"{DB}/{FOREIGN_DOC}", params={"rev": rev}).status_code == 403
    assert as_user(demo, "demo-admin").ok_json("GET", f"{DB}/{FOREIGN_DOC}")["_rev"] == rev


def test_cannot_move_an_own_document_out_of_scope(demo):
    cadre = as_user(demo, "demo-village")
    doc = cadre.ok_json("GET", f"{DB}/{OWN_DOC}")
    r = cadre.put(f"{DB}/{OWN_DOC}", json={**doc, "area": NEIGHBOUR})
    assert r.status_code == 403
    assert cadre.ok_json("GET", f"{DB}/{OWN_DOC}")["_rev"] == doc["_rev"]


def test_forged_history_with_new_edits_false_is_refused(demo):
    cadre = as_user(demo, "demo-village")
    rev = foreign_rev(demo)
    pos, rev_hash = rev.split("-", 1)
    forged = _dispute(FOREIGN_DOC, OWN, summary="forged")
    forged.update({"_rev": f"{int(pos) + 1}-f0f0", "_revisions": {"start": int(pos) + 1, "ids": ["f0f0", rev_hash]}})
    results = cadre.ok_json("POST", f"{DB}/_bulk_docs", json={"docs": [forged], "new_edits": False})
    assert results and results[0]["error"] == "forbidden"
    round_doc = {"_id": f"round-forged", "_rev": "1-abc", "type": "screening_round", "area": OWN,
                 "created_by": "server", "created_at": "2026-11-20T10:00:00+08:00", "level": "village",
                 "period_start": "2026-11-11", "period_end": "2026-11-20", "due_date": "2026-11-20",
                 "round_key": f"village:{OWN}:2026-11-11"}
    results = cadre.ok_json("POST", f"{DB}/_bulk_docs", json={"docs": [round_doc], "new_edits": False})
    assert results and results[0]["error"] == "forbidden"
    assert as_user(demo, "demo-admin").get(f"{DB}/round-forged").status_code == 404


def test_supervisor_reads_everything_registers_matters_but_edits_none(demo):
    supervisor = as_user(demo, "demo-district")
    docs = supervisor.ok_json("GET", f"{DB}/_all_docs")["rows"]
    assert any(NEIGHBOUR in r["id"] for r in docs) and any(OWN in r["id"] for r in docs)
    created = supervisor.ok_json("PUT", f"{DB}/t-sup-dispute", json=_dispute("t-sup-dispute", OWN, by="demo-district"))
    r = supervisor.put(f"{DB}/t-sup-dispute", json={**_dispute("t-sup-dispute", OWN, by="demo-district"),
                                                   "_rev": created["rev"], "status": "mediating"})
    assert r.status_code == 403
    r = supervisor.put(f"{DB}/t-sup-mediated", json=_dispute("t-sup-mediated", OWN, by="demo-district", mediation=[
        {"at": "2026-11-20T11:00:00+08:00", "by": "区督查", "method": "in_person", "result": "agreed"}]))
    assert r.status_code == 403  # registering is not mediating


def test_every_accepted_write_is_in_the_audit_trail(demo):
    cadre = as_user(demo, "demo-village")
    first = cadre.ok_json("PUT", f"{DB}/t-audited", json=_dispute("t-audited", OWN),
                          headers={"X-Paicha-Device": "phone-7"})
    doc = cadre.ok_json("GET", f"{DB}/t-audited")
    second = cadre.ok_json("PUT", f"{DB}/t-audited", json={**doc, "status": "mediating"})
    trail = flask_cli(demo, "audit", "history", "t-audited").strip().splitlines()
    assert len(trail) == 2
    assert "demo-village\tphone-7\t- -> " + first["rev"] in trail[0]
    assert f"{first['rev']} -> {second['rev']}" in trail[1]
