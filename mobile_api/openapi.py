"""The OpenAPI 3.1 document, generated with apispec from the routes themselves.

Each view carries its operation (`@operation(...)`: summary, body, responses, parameters); paths and
path parameters come from the app's URL map; request body schemas are the `schemas/` JSON Schemas
(via `payloads`), bundled as components with their `$ref`s rewritten to `#/components/schemas/...`
(OpenAPI 3.1 schema objects are JSON Schema 2020-12, so they go in unchanged otherwise).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from apispec import APISpec
from flask import Flask

import schemas

from mobile_api import payloads
from mobile_api.problems import PROBLEMS

BLUEPRINT = "mobile_api"
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "image/heif")
_RULE_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@dataclass
class Operation:
    summary: str
    tag: str
    description: str = ""
    body: str | None = None  # component name of a JSON body, or "photo" for raw image bytes
    ok: dict[int, str | None] = field(default_factory=dict)  # status -> component (None: no JSON)
    problems: tuple[int, ...] = ()
    query: tuple[dict, ...] = ()
    path: dict[str, dict] = field(default_factory=dict)  # path parameter -> schema
    auth: bool = True
    body_optional: bool = False


def operation(**kwargs) -> Callable:
    def mark(view):
        view.openapi = Operation(**kwargs)
        return view

    return mark


def param(name: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"name": name, "in": "query", "schema": schema, "description": description, "required": required}


# -- schemas ------------------------------------------------------------------------------------------

COMMON = "common.schema.json"


def _component_name(owner: str, name: str) -> str:
    return f"{owner}.{name}"


def _rewrite(node: Any, owner: str) -> Any:
    """Copy of a schema with every `$ref` pointing into the components; `$id`/`$schema`/`$defs` out."""
    if isinstance(node, list):
        return [_rewrite(n, owner) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("$id", "$schema", "$defs"):
            continue
        if key == "$ref" and isinstance(value, str):
            target, _, pointer = value.partition("#")
            name = pointer.rsplit("/", 1)[-1]
            source = "common" if target == COMMON else owner
            if target not in ("", COMMON) or not pointer.startswith("/$defs/"):
                raise ValueError(f"cannot bundle $ref {value!r}")
            out[key] = "#/components/schemas/" + _component_name(source, name)
        else:
            out[key] = _rewrite(value, owner)
    return out


def _bundle(spec: APISpec, name: str, schema: dict, owner: str) -> None:
    for def_name, definition in schema.get("$defs", {}).items():
        component = _component_name(owner, def_name)
        if component not in spec.components.schemas:
            spec.components.schema(component, _rewrite(definition, owner))
    spec.components.schema(name, _rewrite(schema, owner))


def _problem_schema() -> dict:
    return {
        "type": "object",
        "description": "RFC 9457 problem details; `code` is stable (see GET /api/v1/problems)",
        "required": ["type", "title", "status", "code"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "code": {"enum": sorted(PROBLEMS)},
            "errors": {"type": "array", "items": {"type": "string"}},
            "refusal": {"type": "string"},
        },
        "additionalProperties": True,
    }


RESPONSE_SCHEMAS: dict[str, dict] = {}


def response_schema(name: str) -> Callable[[Callable[[], dict]], Callable[[], dict]]:
    """Register a function returning a response body schema under a component name."""
    def register(make):
        RESPONSE_SCHEMAS[name] = make
        return make

    return register


def build(app: Flask) -> dict:
    spec = APISpec(
        title="Paicha field app API", version=app.config.get("PAICHA_VERSION", "0"), openapi_version="3.1.0",
        info={"description": (
            "The field app's REST API. Log in once (POST /api/v1/auth/login) and use the access token "
            "as `Authorization: Bearer ...` here and for CouchDB replication with the sync URL from "
            "GET /api/v1/me. Errors are RFC 9457 problem details (`application/problem+json`) with a "
            "stable `code`; Chinese by default, English with `Accept-Language: en`.")},
        servers=[{"url": "/"}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("basic", {"type": "http", "scheme": "basic"})
    spec.components.schema("Problem", _problem_schema())
    for def_name, definition in schemas.all_schemas()[COMMON]["$defs"].items():
        spec.components.schema(_component_name("common", def_name), _rewrite(definition, "common"))
    for collection in payloads.COLLECTIONS.values():
        _bundle(spec, f"{collection.title}Create", payloads.create_schema(collection.doc_type), collection.doc_type)
        _bundle(spec, f"{collection.title}Update", payloads.update_schema(collection.doc_type), collection.doc_type)
    for name, make in sorted(RESPONSE_SCHEMAS.items()):
        spec.components.schema(name, make())

    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith(BLUEPRINT + "."):
            continue
        view = app.view_functions[rule.endpoint]
        meta: Operation | None = getattr(view, "openapi", None)
        if meta is None:
            continue
        path = _RULE_ARG.sub(r"{\1}", rule.rule)
        operations = {}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operations[method.lower()] = _operation(meta, rule, method)
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operation(meta: Operation, rule, method: str) -> dict:
    op: dict = {"summary": meta.summary, "tags": [meta.tag], "operationId": rule.endpoint.split(".", 1)[1]}
    if meta.description:
        op["description"] = meta.description
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": meta.path.get(name, {"type": "string", "minLength": 1})}
                  for name in rule.arguments]
    parameters += [dict(q) for q in meta.query]
    parameters.append({"name": "Accept-Language", "in": "header", "required": False,
                       "schema": {"type": "string"}, "description": "zh (default) or en"})
    op["parameters"] = parameters
    if meta.body == "photo":
        op["requestBody"] = {"required": True, "content": {
            t: {"schema": {"type": "string", "format": "binary"}} for t in PHOTO_TYPES}}
    elif meta.body:
        op["requestBody"] = {"required": not meta.body_optional,
                             "content": {"application/json": {"schema": meta.body}}}
    responses = {}
    for status, component in sorted(meta.ok.items()):
        entry = {"description": "OK" if status < 300 else str(status)}
        if component == "binary":
            entry["content"] = {t: {"schema": {"type": "string", "format": "binary"}}
                                for t in PHOTO_TYPES + ("application/octet-stream",)}
        elif component:
            entry["content"] = {"application/json": {"schema": component}}
        responses[str(status)] = entry
    problems = set(meta.problems) | ({401} if meta.auth else set()) | {400}
    for status in sorted(problems):
        codes = [c for c, e in PROBLEMS.items() if e.status == status]
        responses[str(status)] = {
            "description": "Problem: " + ", ".join(codes),
            "content": {"application/problem+json": {"schema": "Problem"}},
        }
    responses["default"] = {"description": "Problem (any code of the catalogue)",
                            "content": {"application/problem+json": {"schema": "Problem"}}}
    op["responses"] = responses
    op["security"] = [{"bearer": []}, {"basic": []}] if meta.auth else []
    return op
