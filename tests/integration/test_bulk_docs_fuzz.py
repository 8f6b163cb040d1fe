"""Random and adversarial documents through `_bulk_docs` and a document PUT, on SQLite and
PostgreSQL, as a village cadre on the domain database:

- never a 5xx, whatever the documents hold (deep nesting, half characters, numbers too large or
  beyond 64 bits, odd ids and attachment names, dates in year 1 or 9999);
- every document is answered on its own: accepted ones read back identical (numbers exactly),
  refused ones have their own `{id, error, reason}` entry;
- every refused revision is quarantined once, however often the same batch is sent again.
"""
from __future__ import annotations

import base64
import json
import uuid
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.demo  # the demo district's accounts and areas in `app`

CADRE = {"Authorization": "Basic " + base64.b64encode(b"demo-village:demo-password").decode()}
VILLAGE = "990101001001"
DB = "paicha"


class Raw(str):
    """JSON text put in the body as it is (what a JSON encoder would never write)."""


HOSTILE_RAW = st.sampled_from([
    Raw("1e400"), Raw("-1e400"), Raw("[" * 3000 + "]" * 3000), Raw('{"a":' * 300 + "1" + "}" * 300),
    Raw("123456789012345678901234567890123456789012"), Raw("-98765432109876543210"), Raw("1.5e308"),
    Raw('"\\ud800"'), Raw('"\\udc00x"'), Raw('"a\\ud83d"'),
])
TEXT = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2),
    st.sampled_from(["", "\x00", "张" + "\U00020000"[:1] + "\ud840", "𠀀", "../x", "_x", "a" * 300]),
)
NUMBER = st.one_of(st.integers(min_value=-(10**45), max_value=10**45),
                   st.floats(allow_nan=False, allow_infinity=False))
DATE = st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59", "2026-11-20T10:00:00+08:00",
                        "2026-02-30T10:00:00+08:00", "not a date", "2026-11-20"])
LEAF = st.one_of(st.none(), st.booleans(), NUMBER, TEXT, DATE, HOSTILE_RAW)
VALUE = st.recursive(LEAF, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(TEXT, inner, max_size=3)), max_leaves=8)


def dispute(doc_id: str) -> dict:
    return {"_id": doc_id, "type": "dispute", "area": VILLAGE, "created_by": "demo-village",
            "created_at": "2026-11-20T10:00:00+08:00", "summary": "（测试）邻里纠纷",
            "parties": [{"name": "甲", "role": "applicant"}], "category": "neighbourhood",
            "risk_level": "low", "status": "registered"}


@st.composite
def documents(draw) -> dict:
    """A cadre's dispute with hostile changes: some stay valid, most are refused."""
    # The unique part first: an id too long is kept in the quarantine cut to the column's 255.
    doc = dispute("fz-" + uuid.uuid4().hex[:8] + draw(st.sampled_from(["", "x" * 250, "\ud800", "/a", "\x00"])))
    if draw(st.booleans()) and draw(st.booleans()):
        doc["_id"] = "_" + doc["_id"]
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        where = draw(st.sampled_from(["summary", "party_name", "extra", "created_at", "people_involved",
                                      "attachment", "occurred_on"]))
        if where == "summary":
            doc["summary"] = draw(st.one_of(TEXT, HOSTILE_RAW))
        elif where == "party_name":
            doc["parties"] = [{"name": draw(st.one_of(TEXT, HOSTILE_RAW)), "role": "applicant"}]
        elif where == "extra":
            doc[draw(TEXT)] = draw(VALUE)
        elif where == "created_at":
            doc["created_at"] = draw(DATE)
        elif where == "people_involved":
            doc["people_involved"] = draw(st.one_of(NUMBER, HOSTILE_RAW))
        elif where == "occurred_on":
            doc["occurred_on"] = draw(st.sampled_from(["0001-01-01", "9999-12-31", "2026-13-01", "2026-11-19"]))
        else:
            doc["_attachments"] = {draw(TEXT): {"content_type": "text/plain", "data": "aGk="}}
    return doc


def encode(value) -> str:
    """JSON as a phone's JSON.stringify writes it (half characters as \\u escapes), with Raw text
    spliced in as it is."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(v) for v in value) + "]"
    return json.dumps(value)


def has_raw(value) -> bool:
    if isinstance(value, Raw):
        return True
    if isinstance(value, dict):
        return any(has_raw(v) for v in value.values())
    if isinstance(value, list):
        return any(has_raw(v) for v in value)
    return False


def send_batch(client, docs: list[dict]) -> list[dict]:
    body = '{"docs":[' + ",".join(encode(d) for d in docs) + "]}"
    r = client.post(f"/{DB}/_bulk_docs", data=body.encode("utf-8", "surrogatepass"),
                    headers={**CADRE, "Content-Type": "application/json"})
    assert r.status_code == 201, r.data[:500]
    return json.loads(r.data)


def quarantine_entries(app, doc_id: str) -> list:
    store = app.extensions["paicha_store"]
    with store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT times_received FROM quarantine WHERE db_name = :db AND doc_id = :d"),
                            {"db": DB, "d": doc_id.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")[:255]}).all()


def check_answers(app, client, docs: list[dict], results: list[dict]) -> None:
    assert len(results) == len(docs)
    for doc, result in zip(docs, results):
        if result.get("ok"):
            assert result["id"] == doc["_id"]
            got = client.get(f"/{DB}/{quote(doc['_id'], safe='')}", headers=CADRE)
            assert got.status_code == 200, got.data[:300]
            stored = json.loads(got.data)  # the standard library: integers exactly
            sent = json.loads(encode({k: v for k, v in doc.items() if k != "_attachments"}))
            assert {k: v for k, v in stored.items() if not k.startswith("_")} == \
                   {k: v for k, v in sent.items() if not k.startswith("_")}
        else:
            assert set(result) == {"id", "error", "reason"}, result
            assert result["error"] == "forbidden" and result["reason"]


@pytest.mark.parametrize("via", ["bulk_docs", "put"])
def test_random_documents_are_judged_one_by_one(app, via):
    client = app.test_client()

    @settings(max_examples=25, deadline=None, derandomize=True, database=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(documents(), min_size=1, max_size=4))
    def run(docs):
        if via == "bulk_docs":
            results = send_batch(client, docs)
            check_answers(app, client, docs, results)
            refused = [d for d, res in zip(docs, results) if "error" in res]
            if refused:  # the same refused documents again: nothing new is quarantined
                assert all("error" in res for res in send_batch(client, refused))
        else:
            results = []
            for doc in docs:
                text = encode({k: v for k, v in doc.items() if k != "_id"})
                if "/" in doc["_id"] or not doc["_id"].isascii():  # not an id a URL can carry
                    doc["_id"] = uuid.uuid4().hex
                r = client.put(f"/{DB}/{doc['_id']}", data=text.encode("utf-8", "surrogatepass"),
                               headers={**CADRE, "Content-Type": "application/json"})
                assert r.status_code < 500, r.data[:500]
                if r.status_code == 201:
                    doc["_id"] = json.loads(r.data)["id"]
                    results.append({"ok": True, "id": doc["_id"]})
                else:
                    body = json.loads(r.data)
                    assert set(body) == {"error", "reason"} and body["reason"], body
                    results.append({"id": doc["_id"], "error": "forbidden", "reason": body["reason"]})
            check_answers(app, client, docs, results)
        for doc, result in zip(docs, results):
            if "error" in result:
                entries = quarantine_entries(app, doc["_id"])
                assert len(entries) == 1, (doc, result, entries)

    run()
