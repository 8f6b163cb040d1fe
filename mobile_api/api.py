"""The blueprint, its error handling, and helpers the resources share."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, json, request
from jsonschema import Draft202012Validator
from werkzeug.exceptions import HTTPException

from schemas.errors import PaichaError

from mobile_api.problems import render

log = logging.getLogger(__name__)

bp = Blueprint("mobile_api", __name__, url_prefix="/api/v1")

_HTTP = {400: "invalid_parameter", 404: "not_found", 405: "method_not_allowed", 413: "body_too_large",
         415: "unsupported_media_type", 429: "too_many_attempts"}


@bp.errorhandler(PaichaError)
def _error(exc: PaichaError):
    """Any error of the catalogue, the store's among them (routes translate the ones they expect:
    conflicts, refusals), as the problem its entry names."""
    if exc.status >= 500:
        log.error("error %s on %s: %s", exc.code, request.path, exc.reason)
    return render(exc)


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException):
    status = exc.code or 500
    code = _HTTP.get(status)
    if code is None:
        log.warning("unmapped HTTP error %s on %s", status, request.path)
        code = "internal_error" if status >= 500 else "invalid_parameter"
    params = {
        "not_found": {"path": request.path},
        "method_not_allowed": {"path": request.path, "method": request.method},
        "body_too_large": {"limit": current_app.config.get("MAX_CONTENT_LENGTH")},
        "unsupported_media_type": {"expected": "application/json"},
        "invalid_parameter": {"name": "request", "reason": exc.description},
    }.get(code, {})
    return render(PaichaError(code, **params))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    log.exception("unexpected error in the mobile API")
    return render(PaichaError("internal_error"))


def checked(body: dict, schema: dict) -> dict:
    """`body` if it matches `schema` (a small request schema of this API), else 400 invalid_body."""
    problems = [f"{'.'.join(map(str, e.absolute_path)) or 'body'}: {e.message}"
                for e in sorted(Draft202012Validator(schema).iter_errors(body), key=lambda e: list(map(str, e.path)))]
    if problems:
        raise PaichaError("invalid_body", count=len(problems), errors=problems[:20])
    return body


def invalid(problems: list[str]):
    return PaichaError("invalid_body", count=len(problems), errors=problems[:20])


def ok(payload, status: int = 200):
    """A JSON answer in UTF-8 (Chinese text stays 3 bytes a character, not a 6-byte escape)."""
    return current_app.response_class(json.dumps(payload, ensure_ascii=False), status=status,
                                      mimetype="application/json")
