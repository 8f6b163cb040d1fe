"""The quarantine's pure parts: every refusal code has Chinese words and advice, a refused revision's
identity, and where a refusal notice goes."""
from __future__ import annotations

import json

from schemas import EXAMPLES_DIR, validate_document
from schemas.rules import REFUSAL_CODES, Actor, check_write
from server.services.quarantine import reasons
from server.services.quarantine.entries import body_hash, fingerprint, notice_id_for
from server.services.quarantine.notices import notice_area

VILLAGE, NEIGHBOUR, TOWNSHIP = "610402001001", "610402001002", "610402001"


def test_every_refusal_code_has_words_in_both_languages():
    assert set(reasons.REASONS) == set(REFUSAL_CODES)
    for code, words in reasons.REASONS.items():
        assert all((words.label_zh, words.label_en, words.reason_zh, words.action_zh, words.action_en)), code
        assert code not in words.reason_zh + words.action_zh + words.label_zh
    assert set(reasons.STATUS_NAMES) == set(reasons.STATUSES)


def test_a_replicated_revision_is_named_by_its_rev_a_direct_edit_by_parent_and_fields():
    doc = {"type": "dispute", "area": VILLAGE, "summary": "甲"}
    inline = {**doc, "_attachments": {"a.jpg": {"content_type": "image/jpeg", "data": "AAAA"}}}
    stub = {**doc, "_attachments": {"a.jpg": {"stub": True, "digest": "md5-x"}}}
    assert fingerprint("d", False, "2-ab", body_hash(inline)) == fingerprint("d", False, "2-ab", body_hash(stub))
    assert fingerprint("d", False, "2-ab", body_hash(doc)) != fingerprint("d", False, "2-ac", body_hash(doc))
    edited = {**doc, "summary": "乙"}
    assert fingerprint("d", True, "1-x", body_hash(doc)) != fingerprint("d", True, "1-x", body_hash(edited))
    assert fingerprint("d", True, "1-x", body_hash(doc)) != fingerprint("d", True, "1-y", body_hash(doc))
    assert body_hash({**doc, "_rev": "1-x", "_id": "d"}) == body_hash(doc)
    assert fingerprint("d", True, None, body_hash(doc)) != fingerprint("e", True, None, body_hash(doc))
    assert notice_id_for(fingerprint("d", False, "2-ab", "")).startswith("refusal-")
    assert body_hash({}, received='{"_id": "x", "n": 1e999999}') != body_hash({})


def test_a_notice_goes_to_the_writers_area_never_outside():
    assert notice_area(VILLAGE, "village_cadre", VILLAGE) == VILLAGE
    assert notice_area(NEIGHBOUR, "village_cadre", VILLAGE) == VILLAGE
    assert notice_area(None, "village_cadre", VILLAGE) == VILLAGE
    assert notice_area("61040200100", "village_cadre", VILLAGE) == VILLAGE  # not an area code
    assert notice_area(NEIGHBOUR, "township_staff", TOWNSHIP) == NEIGHBOUR  # inside the township
    assert notice_area("610402002001", "township_staff", TOWNSHIP) == TOWNSHIP
    assert notice_area(VILLAGE, "district_supervisor", "610402") is None
    assert notice_area(VILLAGE, "admin", "") is None
    assert notice_area(VILLAGE, None, None) is None


def test_only_the_server_and_administrators_write_refusal_notices():
    notice = json.loads((EXAMPLES_DIR / "refusal_notice.json").read_text(encoding="utf-8"))
    assert validate_document(notice) == []
    for actor in (Actor("liu.fang", "village_cadre", "610402001002"), Actor("zhao", "township_staff", "610402001"),
                  Actor("sun", "district_supervisor", "610402")):
        assert check_write(actor, None, {**notice, "created_by": actor.name}).code == "server_owned"
        assert check_write(actor, notice, {**notice, "status": "open"}).code == "server_owned"
        assert check_write(actor, notice, {**notice, "_deleted": True}, deleting=True).code == "server_owned"
    server = Actor("server", "server", "")
    assert check_write(server, None, notice) is None
    assert check_write(server, notice, {**notice, "message": "改"}) is None
    assert check_write(server, notice, {"_deleted": True}, deleting=True).code == "operation_not_allowed"


def test_a_discarded_notice_must_say_why():
    notice = json.loads((EXAMPLES_DIR / "refusal_notice.json").read_text(encoding="utf-8"))
    assert validate_document({**notice, "resolution": "discarded"})
    assert validate_document({**notice, "resolution": "discarded", "resolution_note": "重复"}) == []
    open_notice = {k: v for k, v in notice.items() if not k.startswith("resol")}
    assert validate_document({**open_notice, "status": "open"}) == []
    assert validate_document({**open_notice, "status": "resolved"})
