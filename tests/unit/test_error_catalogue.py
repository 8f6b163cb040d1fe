"""The one error catalogue (`schemas.errors`): every entry complete, codes unique, every code the
product raises catalogued, and each interface rendering an entry in its own shape (CouchDB's
`{error, reason}`, problem+json on /api/v1, an HTML page on /ledger)."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from flask import Flask

from schemas.errors import CATALOGUE, LANGUAGES, REFUSALS, ErrorEntry, PaichaError, WriteRefused
from schemas.rules import REFUSAL_CODES, Refusal
from sync import errors
from sync.http import error_response

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = [p for package in ("schemas", "sync", "server", "mobile_api") for p in (ROOT / package).rglob("*.py")
           if "migrations" not in p.parts]
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
COUCH_NAMES = {"bad_request", "query_parse_error", "doc_validation", "illegal_database_name", "unauthorized",
               "forbidden", "not_found", "method_not_allowed", "not_acceptable", "conflict", "file_exists",
               "missing_stub", "too_large", "document_too_large", "bad_content_type", "too_many_requests",
               "unknown_error", "service_unavailable"}
PROBLEM_CODES = {code for code, entry in CATALOGUE.items() if entry.problem == code}


def _all_entries() -> list[ErrorEntry]:
    return [*CATALOGUE.values(), *REFUSALS.values()]


# -- the entries ----------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", _all_entries(), ids=lambda e: e.code)
def test_every_entry_is_complete(entry):
    assert CODE.match(entry.code)
    assert 400 <= entry.status <= 599
    assert entry.couch in COUCH_NAMES, "CouchDB's own names only: PouchDB branches on them"
    assert entry.problem in PROBLEM_CODES
    for text in (entry.title_zh, entry.title_en, entry.detail_zh, entry.detail_en, entry.reason):
        assert isinstance(text, str) and text.strip()
    assert entry.title_zh != entry.title_en
    assert re.search(r"[\u4e00-\u9fff]", entry.title_zh + entry.detail_zh), "the Chinese text is Chinese"
    assert not re.search(r"[\u4e00-\u9fff]", entry.title_en + entry.detail_en + entry.reason)


def test_codes_are_unique_and_name_their_entries():
    for table in (CATALOGUE, REFUSALS):
        assert all(code == entry.code for code, entry in table.items())
    assert len({e.code for e in CATALOGUE.values()}) == len(CATALOGUE)
    assert set(REFUSALS) == set(REFUSAL_CODES), "every refusal code of the rules has its words"
    # A problem code reads the same whichever error it came from: its own entry says its status.
    assert {CATALOGUE[code].problem for code in PROBLEM_CODES} == PROBLEM_CODES


def test_the_engines_classes_are_bound_to_the_catalogue():
    bound = [value for value in vars(errors).values()
             if isinstance(value, type) and issubclass(value, errors.CouchError)]
    assert len(bound) > 20
    for cls in bound:
        entry = CATALOGUE[cls.code]
        assert (cls.status, cls.error, cls.default_reason) == (entry.status, entry.couch, entry.reason), cls


def _raised_codes() -> dict[str, set[str]]:
    """Codes named in product code: `PaichaError("code", ...)`, the engine's `_error("Name", "code")`
    and classes with `code = "..."`."""
    found: dict[str, set[str]] = {}
    for path in PRODUCT:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            code = None
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if name == "PaichaError":
                    code = node.args[0].value
                elif name == "_error" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                    code = node.args[1].value
            elif isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if (isinstance(stmt, ast.Assign) and [getattr(t, "id", None) for t in stmt.targets] == ["code"]
                            and isinstance(stmt.value, ast.Constant)):
                        code = stmt.value.value
            if isinstance(code, str):
                found.setdefault(code, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_code_raised_in_product_code_is_catalogued():
    raised = _raised_codes()
    assert len(raised) > 30  # the scan sees the raising sites
    missing = {code: sorted(where) for code, where in raised.items() if code not in CATALOGUE}
    assert missing == {}


def test_the_interfaces_maps_of_http_errors_name_catalogued_codes():
    from mobile_api import api
    from server.interfaces.ledger import views

    assert set(api._HTTP.values()) <= set(CATALOGUE)
    assert set(views._HTTP_ERRORS.values()) <= set(CATALOGUE)


def test_an_unknown_code_cannot_be_raised():
    with pytest.raises(KeyError):
        PaichaError("no_such_code")


# -- the renderings -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def flask_app():
    return Flask(__name__)


@pytest.mark.parametrize("code", list(CATALOGUE))
def test_couchdb_renders_every_entry_as_error_and_reason(flask_app, code):
    entry = CATALOGUE[code]
    with flask_app.test_request_context("/paicha/doc"):
        response = error_response(PaichaError(code))
        given = error_response(PaichaError(code, "Something particular."))
    assert response.status_code == entry.status and response.mimetype == "application/json"
    assert json.loads(response.data) == {"error": entry.couch, "reason": entry.reason}
    assert json.loads(given.data) == {"error": entry.couch, "reason": "Something particular."}


def test_couchdb_names_stay_as_couchdb_says_them(flask_app):
    with flask_app.test_request_context("/paicha/doc"):
        for error, status, body in [
            (errors.NotFound(), 404, {"error": "not_found", "reason": "missing"}),
            (errors.Conflict(), 409, {"error": "conflict", "reason": "Document update conflict."}),
            (errors.Forbidden("Nope."), 403, {"error": "forbidden", "reason": "Nope."}),
            (errors.Unauthorized(), 401, {"error": "unauthorized",
                                          "reason": "You are not authorized to access this db."}),
            (errors.InvalidJson("invalid UTF-8 JSON: x"), 400, {"error": "bad_request",
                                                                 "reason": "invalid UTF-8 JSON: x"}),
            (errors.TooManyAttempts(), 429, {"error": "too_many_requests",
                                             "reason": "Too many failed logins. Try again later."}),
            (errors.UnsupportedMediaType(), 415, {"error": "bad_content_type",
                                                  "reason": "Content-Type must be application/json"}),
            (errors.Refused(Refusal("out_of_scope", "Document is outside your scope.")), 403,
             {"error": "forbidden", "reason": "Document is outside your scope."}),
        ]:
            response = error_response(error)
            assert (response.status_code, json.loads(response.data)) == (status, body)
            assert errors.bulk_entry("d", error) == {"id": "d", **body}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("code", list(CATALOGUE))
def test_problem_json_renders_every_entry_as_its_problem(flask_app, code, lang):
    from mobile_api.problems import PROBLEMS, TYPE_BASE, body, render

    entry = CATALOGUE[code]
    problem = PROBLEMS[entry.problem]
    error = PaichaError(code)
    with flask_app.test_request_context("/api/v1/x", headers={"Accept-Language": lang}):
        answer = body(error)
        response = render(error)
    assert answer["code"] == entry.problem and answer["type"] == TYPE_BASE + entry.problem
    assert answer["status"] == problem.status == response.status_code
    assert answer["title"] == problem.title(lang) and answer.get("detail", "") == error.detail(lang)
    assert response.mimetype == "application/problem+json" and response.headers["Content-Language"] == lang
    assert json.loads(response.data) == answer


@pytest.mark.parametrize("code", sorted(REFUSAL_CODES))
def test_a_refused_write_is_its_problem_in_its_refusals_words(flask_app, code):
    from mobile_api.problems import body

    error = WriteRefused(Refusal(code, "The particulars, in English."))
    assert error.code == REFUSALS[code].problem in ("write_refused", "invalid_document")
    with flask_app.test_request_context("/api/v1/disputes", headers={"Accept-Language": "zh"}):
        zh = body(error)
        couch = error_response(error)
    with flask_app.test_request_context("/api/v1/disputes", headers={"Accept-Language": "en"}):
        en = body(error)
    assert zh["code"] == error.code and zh["refusal"] == code and zh["reason"] == "The particulars, in English."
    assert zh["detail"] == REFUSALS[code].detail_zh and en["detail"] == "The particulars, in English."
    assert (couch.status_code, json.loads(couch.data)) == (403, {"error": "forbidden",
                                                                  "reason": "The particulars, in English."})


def test_the_ledger_renders_an_entry_as_a_page_in_its_language():
    from server.interfaces import ledger
    from server.interfaces.ledger import views

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test"
    ledger.init_app(app)  # the whole blueprint, as create_app registers it
    for query, lang in (("", "zh"), ("?lang=en", "en")):
        error = PaichaError("bad_date", name="since")
        with app.test_request_context("/ledger/" + query):
            html, status = views._error_page(error)
        assert status == 400 == CATALOGUE["bad_date"].status
        assert error.detail(lang) in html and "<html" in html
    with app.test_request_context("/ledger/"):
        html, status = views._error_page(errors.NotFound())
    assert status == 404 and CATALOGUE["missing"].detail_zh in html
