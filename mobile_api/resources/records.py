"""Reports, disputes and visits over plain JSON, for clients without a CouchDB database; photos."""
from __future__ import annotations

import re

from flask import Response, current_app, request

import schemas
from schemas.errors import PaichaError
from sync import errors

from mobile_api import queries
from server.core.access import domain_database
from server.services import file_access, records
from server.services.collections import Collection, fill
from mobile_api.api import bp, invalid, ok
from mobile_api.context import area_filter, cursor, encode_cursor, json_body, limit, now, principal
from mobile_api.openapi import PHOTO_TYPES, operation, param, response_schema
from mobile_api.payloads import COLLECTIONS, DOC_ID_SCHEMA, request_problems, valid_doc_id

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
PAGE_PARAMS = (
    param("area", {"type": "string", "pattern": "^(?:[0-9]{6}|[0-9]{9}|[0-9]{12})$"},
          "only this area (and the areas below it); must be inside my scope"),
    param("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "page size"),
    param("cursor", {"type": "string", "maxLength": 400}, "next_cursor of the previous page"),
)
REV_PARAM = param("rev", {"type": "string", "pattern": "^[1-9][0-9]{0,9}-[0-9a-f]{32}$"},
                  "the record's current rev; needed to replace an existing attachment")
ATTACHMENT_NAME = {"type": "string", "minLength": 1, "maxLength": 255,
                   "pattern": "^[^_\\s/\\\\\\x00-\\x1f\\x7f][^/\\\\\\x00-\\x1f\\x7f]*$"}
_ATTACHMENT_NAME = re.compile(ATTACHMENT_NAME["pattern"])
_MAGIC = {
    "image/jpeg": lambda b: b.startswith(b"\xff\xd8\xff"),
    "image/png": lambda b: b.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/webp": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP",
    "image/heic": lambda b: b[4:8] == b"ftyp" and b[8:12] in (b"heic", b"heix", b"hevc", b"hevx", b"heim",
                                                               b"heis", b"mif1", b"msf1"),
    "image/heif": lambda b: b[4:8] == b"ftyp" and b[8:12] in (b"mif1", b"msf1", b"heic", b"heix", b"heif"),
}


@response_schema("Record")
def _record_schema():
    return {
        "type": "object", "required": ["id", "rev", "type"],
        "description": "a document's own fields, plus its id, rev and attachment list",
        "properties": {
            "id": {"type": "string"}, "rev": {"type": "string"}, "type": {"type": "string"},
            "attachments": {"type": "object", "additionalProperties": {
                "type": "object", "properties": {"content_type": {"type": "string"},
                                                 "length": {"type": "integer"}, "digest": {"type": "string"}}}},
        },
        "additionalProperties": True,
    }


@response_schema("RecordPage")
def _page_schema():
    return {"type": "object", "required": ["items", "next_cursor"],
            "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}},
                           "next_cursor": {"type": ["string", "null"]}}}


def present(doc: dict) -> dict:
    out = {"id": doc["_id"], "rev": doc["_rev"], **records.own_fields(doc)}
    stubs = doc.get("_attachments")
    if stubs:
        out["attachments"] = {name: {k: stub[k] for k in ("content_type", "length", "digest") if k in stub}
                              for name, stub in stubs.items()}
    return out


def _as_shown(database, who, docs: list[dict]) -> list[dict]:
    """Disputes as `who` is shown them (parties masked unless they handle the matter), each one read
    logged as an opening of its file; other records as they are."""
    if not any(d.get("type") == "dispute" for d in docs):
        return docs
    shown = iter(file_access.open_files(database, who, docs, file_access.API))
    return [next(shown) if d.get("type") == "dispute" else d for d in docs]


def _doc_id(value: str) -> str:
    if not valid_doc_id(value):
        raise PaichaError("invalid_parameter", name="id", reason="not a record id")
    return value


def _validated(collection: Collection, body: dict, kind: str, who, base: dict | None = None) -> None:
    problems = request_problems(body, kind, collection.doc_type)
    if not problems:
        doc = fill(collection, body, user=who.name, now=now(), base=base, updating=kind == "update")
        problems = schemas.validate_document(doc)
    if problems:
        raise invalid(problems)


def _routes(collection: Collection) -> None:
    name, noun, title = collection.name, collection.noun, collection.title

    @operation(summary=f"{noun.capitalize()}s in my scope", tag=name, ok={200: "RecordPage"}, problems=(403,),
               query=PAGE_PARAMS)
    def list_view():
        who = principal()
        area, size, after = area_filter(who), limit(), cursor()
        database = domain_database(who)
        found = queries.page(database, collection.doc_type, limit=size, after=after, area=area)
        return ok({"items": [present(d) for d in _as_shown(database, who, found.items)],
                   "next_cursor": encode_cursor(found.next_after)})

    @operation(summary=f"Create a {noun} (idempotent: same id and content -> same answer)", tag=name,
               body=f"{title}Create", ok={201: "Record", 200: "Record"}, problems=(403, 409, 413, 415, 422),
               description="The server fills in type, created_by (you), created_at (now) and the fields "
                           "the schema marks optional here. A retry with the same id and content answers 200 "
                           "with the stored record; the same id with other content is 409 id_taken.")
    def create_view():
        who = principal()
        body = json_body()
        _validated(collection, body, "create", who)
        outcome = records.create(domain_database(who), collection, body, user=who.name, now=now())
        return ok(present(outcome.doc), 201 if outcome.created else 200)

    @operation(summary=f"One {noun}", tag=name, ok={200: "Record"}, problems=(404,), path={"doc_id": DOC_ID_SCHEMA})
    def get_view(doc_id: str):
        who = principal()
        database = domain_database(who)
        return ok(present(_as_shown(database, who, [records.read(database, collection, _doc_id(doc_id))])[0]))

    @operation(summary=f"Replace a {noun}'s fields (send the rev you read)", tag=name, body=f"{title}Update",
               ok={200: "Record"}, problems=(403, 404, 409, 413, 415, 422), path={"doc_id": DOC_ID_SCHEMA},
               description="Fields left out keep created_by / created_at and get updated_by / updated_at "
                           "from the server. A retry of an update that already went through answers 200; a "
                           "stale rev is 409 edit_conflict with current_rev.")
    def update_view(doc_id: str):
        who = principal()
        body = json_body()
        database = domain_database(who)
        current = records.read(database, collection, _doc_id(doc_id))
        _validated(collection, body, "update", who, base=current)
        outcome = records.update(database, collection, doc_id, body, user=who.name, now=now())
        return ok(present(outcome.doc))

    @operation(summary=f"Upload a photo onto a {noun} (idempotent)", tag=name, body="photo",
               ok={200: "Record", 201: "Record"}, problems=(403, 404, 409, 413, 415),
               query=(REV_PARAM,), path={"doc_id": DOC_ID_SCHEMA, "name": ATTACHMENT_NAME},
               description="The body is the image itself (JPEG, PNG, WebP or HEIC), at most "
                           "PAICHA_API_MAX_ATTACHMENT_BYTES (10 MiB). "
                           + ("Its name is added to the visit's photos. " if collection.doc_type == "household_visit"
                              else "")
                           + "The same bytes again answer 200; other bytes under an existing name need ?rev=.")
    def attach_view(doc_id: str, name: str):
        who = principal()
        _doc_id(doc_id)
        if not _ATTACHMENT_NAME.match(name) or name in (".", "..") or len(name) > ATTACHMENT_NAME["maxLength"]:
            raise PaichaError("invalid_parameter", name="name", reason="not an attachment name")
        rev = request.args.get("rev")
        if rev is not None and not re.match(REV_PARAM["schema"]["pattern"], rev):
            raise PaichaError("invalid_parameter", name="rev", reason="not a rev")
        content_type, data = _photo()
        outcome = records.attach(domain_database(who), collection, doc_id, name, content_type, data, rev=rev,
                                 user=who.name, now=now())
        return ok(present(outcome.doc), 201 if outcome.created else 200)

    @operation(summary=f"Download a {noun}'s attachment", tag=name, ok={200: "binary"}, problems=(404,),
               path={"doc_id": DOC_ID_SCHEMA, "name": ATTACHMENT_NAME})
    def download_view(doc_id: str, name: str):
        who = principal()
        database = domain_database(who)
        records.read(database, collection, _doc_id(doc_id))
        try:
            stub, data = database.get_attachment(doc_id, name)
        except errors.NotFound:
            raise PaichaError("attachment_not_found", id=doc_id, name=name) from None
        return Response(data, mimetype=stub.get("content_type") or "application/octet-stream",
                        headers={"ETag": f'"{stub.get("digest", "")}"'})

    bp.add_url_rule(f"/{name}", f"{name}_list", list_view, methods=["GET"])
    bp.add_url_rule(f"/{name}", f"{name}_create", create_view, methods=["POST"])
    bp.add_url_rule(f"/{name}/<doc_id>", f"{name}_get", get_view, methods=["GET"])
    bp.add_url_rule(f"/{name}/<doc_id>", f"{name}_update", update_view, methods=["PUT"])
    bp.add_url_rule(f"/{name}/<doc_id>/attachments/<name>", f"{name}_attach", attach_view, methods=["PUT"])
    bp.add_url_rule(f"/{name}/<doc_id>/attachments/<name>", f"{name}_download", download_view, methods=["GET"])


def _photo() -> tuple[str, bytes]:
    content_type = request.mimetype
    if content_type not in PHOTO_TYPES:
        raise PaichaError("attachment_type_not_allowed", allowed=", ".join(PHOTO_TYPES),
                         content_type=content_type or None)
    limit_bytes = int(current_app.config.get("PAICHA_API_MAX_ATTACHMENT_BYTES", MAX_ATTACHMENT_BYTES))
    if request.content_length is not None and request.content_length > limit_bytes:
        raise PaichaError("attachment_too_large", limit=limit_bytes)
    data = request.stream.read(limit_bytes + 1)
    if len(data) > limit_bytes:
        raise PaichaError("attachment_too_large", limit=limit_bytes)
    if not _MAGIC[content_type](data):
        raise PaichaError("attachment_content_mismatch", content_type=content_type)
    return content_type, data


for _collection in COLLECTIONS.values():
    _routes(_collection)
