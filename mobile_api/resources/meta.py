"""The API describing itself: the OpenAPI document, the problem catalogue; unknown paths."""
from __future__ import annotations

from flask import current_app, request

from schemas.errors import PaichaError

from mobile_api.api import bp, ok
from mobile_api.openapi import build, operation, response_schema
from mobile_api.problems import catalogue, language

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


@response_schema("ProblemCatalogue")
def _catalogue_schema():
    return {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
        "type": "object", "required": ["code", "type", "status", "title"],
        "properties": {"code": {"type": "string"}, "type": {"type": "string"}, "status": {"type": "integer"},
                       "title": {"type": "string"}}}}}}


@bp.get("/openapi.json")
def openapi_document():
    spec = current_app.extensions.get("paicha_mobile_api_spec")
    if spec is None:
        spec = current_app.extensions["paicha_mobile_api_spec"] = build(current_app)
    return ok(spec)


@bp.get("/problems")
@operation(summary="Every problem code this API answers with (stable), with its status and title", tag="meta",
           auth=False, ok={200: "ProblemCatalogue"})
def problem_catalogue():
    return ok({"items": catalogue(language())})


@bp.get("/")
def index():
    return ok({"openapi": request.host_url.rstrip("/") + "/api/v1/openapi.json",
               "problems": request.host_url.rstrip("/") + "/api/v1/problems"})


@bp.route("/<path:anything>", methods=METHODS)
def unknown(anything: str):
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in METHODS:
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except Exception:  # noqa: BLE001 - no rule for this method
            continue
        if endpoint != request.endpoint:
            allowed.append(method)
    if allowed:
        raise PaichaError("method_not_allowed", path=request.path, method=request.method,
                          headers={"Allow": ", ".join(allowed)})
    raise PaichaError("not_found", path=request.path)
