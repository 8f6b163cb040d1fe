"""Search on the demo district (SQLite and PostgreSQL), through the ledger's own pages: a party's name
(any part of it, a surname alone), a phone (any part, spaces and dashes as typed), a registration
number and a word of the summary find the matter for the township that handles it; the district
supervisor who only supervises finds it by its text, never by its parties' personal data, and sees
them masked; a township's staff never find another township's documents, nor search outside their
township; a document changed or deleted is found by what it says now."""
from __future__ import annotations

import uuid

import pytest

from .test_ledger import basic
from .test_matters import NUMBER, START, at, browser  # noqa: F401  (at: a fixture)
from .test_privacy import NAME, OTHER, PHONE, no_secrets, register

pytestmark = pytest.mark.demo

OTHER_TOWNSHIP_VILLAGE = "990101002001"


def found(page, doc_id: str) -> bool:
    assert page.status_code == 200, page.status_code
    return f'data-id="{doc_id}"' in page.text


@pytest.fixture
def matter(client, at):  # noqa: F811  (the fixture imported above)
    return register(client)


def test_the_township_finds_a_matter_by_its_parties_number_and_words(app, matter):
    township = browser(app, "demo-township")
    for query in (NAME, "建国", "王", OTHER[1:], PHONE, "2344567", "138 1234 4567", "138-1234-4567", "宅基地边界"):
        assert found(township.get("/ledger/search", query_string={"q": query}), matter), query
    number = NUMBER.search(township.get(f"/ledger/dispute/{matter}").text).group(1)
    for query in (number, number[7:]):  # 990101-2026-000123 and 2026-000123
        page = township.get("/ledger/search", query_string={"q": query})
        assert found(page, matter) and number in page.text, query
    assert not found(township.get("/ledger/search", query_string={"q": "王建军"}), matter)
    assert 'id="header-search"' in township.get("/ledger/").text  # the box in every page's header


def test_the_district_supervisor_finds_it_by_its_words_only(app, matter):
    district = browser(app, "demo-district")
    for query in (NAME, "建国", PHONE, "2344567", OTHER):
        page = district.get("/ledger/search", query_string={"q": query})
        assert not found(page, matter), query
    page = district.get("/ledger/search", query_string={"q": "宅基地边界争议"})
    assert found(page, matter)
    no_secrets(page.data)
    assert "王＊＊与李＊＊宅基地边界争议" in page.text


def test_a_township_never_finds_another_townships_documents(app, client, at):  # noqa: F811
    doc_id = f"dispute-{uuid.uuid4()}"
    doc = {"type": "dispute", "area": OTHER_TOWNSHIP_VILLAGE, "created_by": "demo-admin",
           "created_at": START.isoformat(), "summary": "东山村灌溉用水纠纷", "category": "land",
           "parties": [{"name": "欧阳春生", "role": "applicant"}], "risk_level": "low", "status": "registered"}
    r = client.put(f"/paicha/{doc_id}", json=doc, headers=basic("demo-admin"))
    assert r.status_code == 201, r.text
    township = browser(app, "demo-township")
    for query in ("灌溉用水", "欧阳春生", "欧"):
        assert not found(township.get("/ledger/search", query_string={"q": query}), doc_id), query
    assert township.get("/ledger/search", query_string={"q": "灌溉", "area": "990101002"}).status_code == 403
    assert township.get("/ledger/search", query_string={"q": "灌溉", "area": "990101"}).status_code == 403
    district = browser(app, "demo-district")
    assert found(district.get("/ledger/search", query_string={"q": "灌溉用水"}), doc_id)


def test_a_changed_or_deleted_document_is_found_by_what_it_says_now(app, client, matter):
    township = browser(app, "demo-township")
    current = client.get(f"/paicha/{matter}", headers=basic("demo-village")).json
    changed = dict(current, summary="改为：承包地界线纠纷")
    r = client.put(f"/paicha/{matter}", json=changed, headers=basic("demo-village"))
    assert r.status_code == 201, r.text
    assert not found(township.get("/ledger/search", query_string={"q": "宅基地边界"}), matter)
    assert found(township.get("/ledger/search", query_string={"q": "承包地界线"}), matter)
    r = client.delete(f"/paicha/{matter}?rev={r.json['rev']}", headers=basic("demo-village"))
    assert r.status_code == 200, r.text
    assert not found(township.get("/ledger/search", query_string={"q": "承包地界线"}), matter)


def test_bad_queries_are_answered_not_failed(app):
    township = browser(app, "demo-township")
    for query in ("", " ", "%", "_", "'; DROP TABLE search_grams; --", "x" * 500, "\u0000"):
        page = township.get("/ledger/search", query_string={"q": query})
        assert page.status_code in (200, 400), (query, page.status_code)
    assert "最多 50 字" in township.get("/ledger/search", query_string={"q": "宅" * 60}).text
