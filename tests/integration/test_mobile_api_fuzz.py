"""Property-based fuzzing of /api/v1 from its own OpenAPI document (schemathesis + hypothesis).

Every operation gets a bounded number of generated requests, valid ones and invalid ones, from a
fixed seed (a run is repeatable), sent as a township staff member with a bearer token. No answer may
be a 5xx, and every answer must be as documented: status, content type, headers and body schema;
and invalid requests must be refused with a 4xx.
"""
from __future__ import annotations

import itertools

import pytest
import schemathesis
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

import mobile_api
from mobile_api.openapi import build

pytestmark = pytest.mark.demo  # the demo district's accounts and areas in `app`

# Per operation: valid requests on both stores, invalid ones on SQLite only (they are refused
# before the store is touched, and generating them is the slow part).
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 8}
# Each well-formed login costs an argon2 hash (~0.2 s, on purpose): fewer of those.
FEWER = {("POST", "/api/v1/auth/login"): 5}
CONFIG = {
    "seed": 990101,
    "generation": {"max-examples": 10, "deterministic": True, "database": "none"},
    "checks": {
        "not_a_server_error": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
        "response_headers_conformance": {"enabled": True},
        "negative_data_rejection": {"enabled": True},
        # Probing with made-up Basic credentials costs an argon2 hash per case; test_mobile_api checks
        # that every endpoint refuses a request without valid credentials.
        "ignored_auth": {"enabled": False},
        "positive_data_acceptance": {"enabled": False},  # valid JSON Schema, refused by a rule: 403/409/422
        "missing_required_header": {"enabled": False},
        "unsupported_method": {"enabled": False},
        "use_after_free": {"enabled": False},
        "ensure_resource_availability": {"enabled": False},
    },
}


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation, read from the document of a bare app."""
    app = Flask("openapi-only")
    app.config["PAICHA_DOMAIN_DB"] = "paicha"
    mobile_api.init_app(app)
    return sorted((method.upper(), path) for path, item in build(app)["paths"].items() for method in item)


OPERATIONS = _operations()


@pytest.fixture(scope="module")
def api_schema(app):
    mobile_api.init_app(app)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=SchemathesisConfig.from_dict(CONFIG))


@pytest.fixture(scope="module")
def issue(app):
    """A fresh access token of demo-township, each for its own device (no argon2: it is slow)."""
    from server.services import tokens
    from server.core.db import db
    from server.core.models import Account

    with app.app_context():
        account_id = db.session.execute(sa.select(Account.id).where(Account.name == "demo-township")).scalar_one()
    numbers = itertools.count()

    def make() -> str:
        with app.app_context():
            return tokens.issue(account_id, f"fuzz-{next(numbers)}")[0]

    return make


def _fuzz(api_schema, token: str, method: str, path: str, mode: GenerationMode) -> None:
    operation = api_schema[path][method]

    @seed(990101)
    @settings(max_examples=FEWER.get((method, path), EXAMPLES[mode]), derandomize=True, deadline=None,
              database=None, report_multiple_bugs=False, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        # identity: the WSGI transport does not undo the gzip Flask-Compress applies to big answers
        case.call_and_validate(headers={"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"})

    try:
        run()
    except Unsatisfiable:
        pytest.skip("no input of this operation can be made invalid")  # e.g. GET /problems


IDS = [f"{m} {p.removeprefix('/api/v1')}" for m, p in OPERATIONS]


@pytest.mark.parametrize("method, path", OPERATIONS, ids=IDS)
def test_valid_requests_never_fail_and_answer_as_documented(api_schema, issue, method, path):
    # Each operation its own token: a generated logout or revocation cannot disturb the others.
    _fuzz(api_schema, issue(), method, path, GenerationMode.POSITIVE)


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
@pytest.mark.parametrize("method, path", OPERATIONS, ids=IDS)
def test_invalid_requests_are_refused_as_documented(api_schema, issue, method, path):
    # Invalid requests are refused before the store is touched (and generating them is the slow
    # part), so they are sent to the SQLite store only.
    _fuzz(api_schema, issue(), method, path, GenerationMode.NEGATIVE)
