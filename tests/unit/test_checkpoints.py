"""sync.checkpoints: after a restore, a checkpoint's current session is renamed, its earlier ones kept."""
from __future__ import annotations

import json

from sync.checkpoints import _renamed


def test_the_current_session_is_renamed_and_the_earlier_ones_kept():
    stored = json.dumps({"session_id": "s3", "last_seq": 90, "version": 1, "replicator": "pouchdb",
                         "history": [{"session_id": "s3", "last_seq": 90}, {"session_id": "s2", "last_seq": 40},
                                     {"session_id": "s1", "last_seq": 10}]})
    body = json.loads(_renamed(stored, "restored-x"))
    assert body["session_id"] == "s3~restored-x"
    assert [h["session_id"] for h in body["history"]] == ["s3~restored-x", "s2", "s1"]
    assert [h["last_seq"] for h in body["history"]] == [90, 40, 10]
    assert body["last_seq"] == 90 and body["replicator"] == "pouchdb"


def test_local_documents_that_are_not_checkpoints_stay_as_they_are():
    assert _renamed(json.dumps({"note": "kept by an app"}), "restored-x") is None
    assert _renamed(json.dumps({"session_id": ""}), "restored-x") is None
    assert _renamed("not json", "restored-x") is None
