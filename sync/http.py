"""The CouchDB HTTP API as thin Flask views over the engine.

Each view parses the wire format, calls one engine method, and serializes. Who the caller is and
what they may touch comes from the injected `get_access(db_name)`; errors are raised and turned
into CouchDB's JSON by one handler.
"""
from __future__ import annotations

import json
import uuid
from typing import Callable

from flask import Blueprint, Response, current_app, request

from . import errors, jsonio
from .access import Access
from .changes import ChangesOptions
from .store import Store

CHANGES_DEFAULT_TIMEOUT = 60.0


def couch_json(value, status: int = 200, headers: dict | None = None) -> Response:
    return Response(jsonio.dumpb(value) + b"\n", status=status,
                    mimetype="application/json", headers=headers)


def error_response(exc: errors.CouchError) -> Response:
    headers = {}
    if exc.status == 401:
        # No WWW-Authenticate: browsers would pop a dialog; CouchDB omits it for JSON clients too.
        pass
    return couch_json(exc.body(), exc.status, headers)


# -- request parsing ---------------------------------------------------------------------------
def json_body(required: bool = True):
    raw = request.get_data(cache=True)
    if not raw:
        if required:
            raise errors.BadRequest("Request body is required.")
        return None
    try:
        return jsonio.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.InvalidJson() from None


def q_bool(name: str, default: bool = False) -> bool:
    value = request.args.get(name)
    if value is None:
        return default
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise errors.BadRequest(f"Invalid boolean parameter: {name}")


def q_int(name: str, default=None, minimum: int = 0):
    value = request.args.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise errors.BadRequest(f"Invalid integer parameter: {name}") from None
    if number < minimum:
        raise errors.BadRequest(f"{name} must be at least {minimum}")
    return number


def q_json(name: str, default=None, *aliases):
    for key in (name, *aliases):
        value = request.args.get(key)
        if value is not None:
            try:
                return json.loads(value)
            except ValueError:
                raise errors.BadRequest(f"Invalid JSON in parameter: {key}") from None
    return default


def make_blueprint(store: Store, get_access: Callable[[str | None], Access]) -> Blueprint:
    bp = Blueprint("couch", __name__)

    def open_db(db: str):
        return store.open(db, get_access(db))

    def admin_only() -> Access:
        access = get_access(None)
        if not access.is_admin:
            raise errors.Forbidden("You are not a server admin.")
        return access

    @bp.errorhandler(errors.CouchError)
    def _couch_error(exc):
        return error_response(exc)

    # -- server ---------------------------------------------------------------------------------
    @bp.get("/")
    def welcome():
        return couch_json({
            "couchdb": "Welcome",
            "version": "3.3.3",
            "git_sha": "paicha",
            "uuid": store.server_uuid(),
            "features": [],
            "vendor": {"name": "Paicha", "version": current_app.config.get("PAICHA_VERSION", "0")},
        })

    @bp.get("/_up")
    def up():
        return couch_json({"status": "ok"})

    @bp.get("/_uuids")
    def uuids():
        count = min(q_int("count", 1, 1), 1000)
        return couch_json({"uuids": [uuid.uuid4().hex for _ in range(count)]})

    @bp.get("/_all_dbs")
    def all_dbs():
        admin_only()
        return couch_json(store.list_databases())

    # -- databases ------------------------------------------------------------------------------
    @bp.route("/<db>", methods=["GET", "HEAD"])
    @bp.route("/<db>/", methods=["GET", "HEAD"], endpoint="db_info_slash")  # PouchDB's info() asks here
    def db_info(db):
        return couch_json(open_db(db).info())

    @bp.put("/<db>")
    def db_create(db):
        admin_only()
        store.create_database(db)
        return couch_json({"ok": True}, 201)

    @bp.delete("/<db>")
    def db_delete(db):
        admin_only()
        if request.args.get("rev"):
            raise errors.BadRequest("You tried to DELETE a database with a ?rev= parameter.")
        store.delete_database(db)
        return couch_json({"ok": True})

    @bp.post("/<db>")
    def db_post_doc(db):
        database = open_db(db)
        result = database.put(json_body(), _new_id(json_body()))
        return couch_json(result, 201)

    @bp.post("/<db>/_ensure_full_commit")
    def ensure_full_commit(db):
        open_db(db)
        return couch_json({"ok": True, "instance_start_time": "0"}, 201)

    @bp.route("/<db>/_revs_limit", methods=["GET"])
    def revs_limit(db):
        open_db(db)
        return couch_json(store.default_revs_limit)

    # -- replication ----------------------------------------------------------------------------
    @bp.route("/<db>/_changes", methods=["GET", "POST"])
    def changes(db):
        database = open_db(db)
        options = _changes_options(json_body(required=False) if request.method == "POST" else None)
        return _stream_changes(database.changes(options), options)

    @bp.post("/<db>/_revs_diff")
    def revs_diff(db):
        return couch_json(open_db(db).revs_diff(json_body()))

    @bp.post("/<db>/_bulk_docs")
    def bulk_docs(db):
        database = open_db(db)
        body = json_body()
        if not isinstance(body, dict) or not isinstance(body.get("docs"), list):
            raise errors.BadRequest("POST body must include `docs` parameter.")
        new_edits = body.get("new_edits", True)
        if not isinstance(new_edits, bool):
            raise errors.BadRequest("new_edits must be a boolean")
        return couch_json(database.bulk_docs(body["docs"], new_edits=new_edits), 201)

    @bp.post("/<db>/_bulk_get")
    def bulk_get(db):
        database = open_db(db)
        body = json_body()
        if not isinstance(body, dict) or not isinstance(body.get("docs"), list):
            raise errors.BadRequest("Missing JSON list of 'docs'.")
        results = database.bulk_get(body["docs"], revs=q_bool("revs"), attachments=q_bool("attachments"),
                                    latest=q_bool("latest"))
        return couch_json({"results": results})

    @bp.route("/<db>/_all_docs", methods=["GET", "POST"])
    def all_docs(db):
        database = open_db(db)
        body = json_body(required=False) if request.method == "POST" else None
        keys = (body or {}).get("keys") if isinstance(body, dict) else None
        if keys is None:
            keys = q_json("keys")
        if keys is not None and not isinstance(keys, list):
            raise errors.BadRequest("`keys` member must be an array.")
        total, rows, update_seq = database.all_docs(
            keys=keys,
            start=_id_param(q_json("startkey", None, "start_key")),
            end=_id_param(q_json("endkey", None, "end_key")),
            inclusive_end=q_bool("inclusive_end", True),
            descending=q_bool("descending"),
            limit=q_int("limit"),
            skip=q_int("skip", 0),
            include_docs=q_bool("include_docs"),
            conflicts=q_bool("conflicts"),
            attachments=q_bool("attachments"),
        )
        result = {"total_rows": total, "offset": q_int("skip", 0) if keys is None else None, "rows": rows}
        if q_bool("update_seq"):
            result["update_seq"] = update_seq
        return couch_json(result)

    # -- _local documents -----------------------------------------------------------------------
    @bp.get("/<db>/_local/<path:doc_id>")
    def local_get(db, doc_id):
        return couch_json(open_db(db).get_local(doc_id))

    @bp.put("/<db>/_local/<path:doc_id>")
    def local_put(db, doc_id):
        body = json_body()
        if isinstance(body, dict) and request.args.get("rev") and "_rev" not in body:
            body["_rev"] = request.args["rev"]
        return couch_json(open_db(db).put_local(doc_id, body), 201)

    @bp.delete("/<db>/_local/<path:doc_id>")
    def local_delete(db, doc_id):
        return couch_json(open_db(db).delete_local(doc_id, request.args.get("rev")))

    # -- documents ------------------------------------------------------------------------------
    @bp.route("/<db>/<doc_id>", methods=["GET", "HEAD"])
    @bp.route("/<db>/_design/<path:design>", methods=["GET", "HEAD"], endpoint="design_get")
    def doc_get(db, doc_id=None, design=None):
        doc_id = doc_id if design is None else f"_design/{design}"
        if design is None and doc_id.startswith("_"):
            raise errors.NotFound("missing")
        database = open_db(db)
        open_revs = request.args.get("open_revs")
        if open_revs is not None:
            which = "all" if open_revs == "all" else q_json("open_revs")
            if which != "all" and not isinstance(which, list):
                raise errors.BadRequest("open_revs must be 'all' or a JSON array of revs")
            results = database.open_revs(doc_id, which, revs=q_bool("revs"), attachments=q_bool("attachments"),
                                         latest=q_bool("latest"), atts_since=q_json("atts_since"))
            if "multipart/mixed" in request.headers.get("Accept", ""):
                return _multipart_mixed(results)
            return couch_json(results)
        doc = database.get(
            doc_id, rev=request.args.get("rev"), revs=q_bool("revs"), revs_info=q_bool("revs_info"),
            conflicts=q_bool("conflicts"), deleted_conflicts=q_bool("deleted_conflicts"),
            attachments=q_bool("attachments"), atts_since=q_json("atts_since"), latest=q_bool("latest"),
            local_seq=q_bool("local_seq"),
        )
        return couch_json(doc, headers={"ETag": f'"{doc["_rev"]}"'})

    @bp.put("/<db>/<doc_id>")
    @bp.put("/<db>/_design/<path:design>", endpoint="design_put")
    def doc_put(db, doc_id=None, design=None):
        doc_id = doc_id if design is None else f"_design/{design}"
        database = open_db(db)
        rev = request.args.get("rev") or _if_match()
        result = database.put(json_body(), doc_id, new_edits=q_bool("new_edits", True), rev=rev)
        return couch_json(result, 201, headers={"ETag": f'"{result["rev"]}"'})

    @bp.delete("/<db>/<doc_id>")
    @bp.delete("/<db>/_design/<path:design>", endpoint="design_delete")
    def doc_delete(db, doc_id=None, design=None):
        doc_id = doc_id if design is None else f"_design/{design}"
        result = open_db(db).delete(doc_id, request.args.get("rev") or _if_match())
        return couch_json(result)

    @bp.route("/<db>/<doc_id>/<path:name>", methods=["GET", "HEAD"])
    def attachment_get(db, doc_id, name):
        stub, data = open_db(db).get_attachment(doc_id, name, request.args.get("rev"))
        return Response(data, mimetype=stub.get("content_type"),
                        headers={"Content-MD5": stub["digest"][4:], "ETag": f'"{stub["digest"]}"'})

    @bp.put("/<db>/<doc_id>/<path:name>")
    def attachment_put(db, doc_id, name):
        result = open_db(db).put_attachment(
            doc_id, name, request.args.get("rev") or _if_match(),
            request.content_type or "application/octet-stream", request.get_data(),
        )
        return couch_json(result, 201)

    @bp.delete("/<db>/<doc_id>/<path:name>")
    def attachment_delete(db, doc_id, name):
        return couch_json(open_db(db).delete_attachment(doc_id, name, request.args.get("rev") or _if_match()))

    return bp


def _new_id(body) -> str:
    if isinstance(body, dict) and isinstance(body.get("_id"), str):
        return body["_id"]
    return uuid.uuid4().hex


def _if_match() -> str | None:
    value = request.headers.get("If-Match")
    return value.strip('"') if value else None


def _id_param(value):
    if value is None or isinstance(value, str):
        return value
    raise errors.BadRequest("_all_docs keys are document ids (strings).")


def _changes_options(body) -> ChangesOptions:
    body = body if isinstance(body, dict) else {}
    since = request.args.get("since", "0")
    if since != "now":
        try:
            since = int(since)
        except ValueError:
            try:
                since = int(json.loads(since)) if since.startswith('"') else int(since.split("-")[0])
            except (ValueError, TypeError):
                raise errors.BadRequest("Malformed since value.") from None
    feed = request.args.get("feed", "normal")
    filter_name = request.args.get("filter")
    doc_ids = selector = None
    if filter_name == "_doc_ids":
        doc_ids = body.get("doc_ids") if "doc_ids" in body else q_json("doc_ids")
        if doc_ids is None:
            raise errors.BadRequest("filter=_doc_ids needs doc_ids")
    elif filter_name == "_selector":
        selector = body.get("selector")
        if selector is None:
            raise errors.BadRequest("filter=_selector needs a selector in the body")
    elif filter_name is not None:
        raise errors.BadRequest(f"Unsupported filter: {filter_name}")
    heartbeat = request.args.get("heartbeat")
    if heartbeat == "true":
        heartbeat_s = 60.0
    elif heartbeat:
        heartbeat_s = max(q_int("heartbeat", 60000, 1) / 1000.0, 0.1)
    else:
        heartbeat_s = None
    timeout_ms = q_int("timeout", None, 0)
    return ChangesOptions(
        feed=feed,
        since=since,
        limit=q_int("limit"),
        descending=q_bool("descending"),
        style=request.args.get("style", "main_only"),
        include_docs=q_bool("include_docs"),
        conflicts=q_bool("conflicts"),
        attachments=q_bool("attachments"),
        heartbeat=heartbeat_s,
        timeout=CHANGES_DEFAULT_TIMEOUT if timeout_ms is None else timeout_ms / 1000.0,
        doc_ids=doc_ids,
        selector=selector,
    )


FEED_CHUNK = 64 * 1024  # characters of feed held before a write


def _stream_changes(events, options: ChangesOptions) -> Response:
    # Options were validated before this point, so errors still get a proper status; the opening
    # bytes go out at once so that clients see the response start before any heartbeat is due.
    return Response(_buffered(_feed_lines(events, options)), mimetype="application/json",
                    headers={"Cache-Control": "must-revalidate"})


def _feed_lines(events, options: ChangesOptions):
    """The feed's text, piece by piece; None where everything so far must reach the client now
    (the feed is about to wait, or a heartbeat). Continuous: a JSON object per line; otherwise one
    JSON document whose "results" array grows as changes come."""
    continuous = options.feed in ("continuous", "eventsource")
    if not continuous:
        yield '{"results":[\n'
        yield None
    sep = ""
    for event in events:
        if event[0] == "change":
            yield jsonio.dumps(event[1]) + "\n" if continuous else sep + jsonio.dumps(event[1])
            sep = ",\n"
        elif event[0] in ("heartbeat", "idle"):
            if event[0] == "heartbeat":
                yield "\n"
            yield None
        elif continuous:
            yield json.dumps({"last_seq": event[1], "pending": event[2]}) + "\n"
        else:
            yield '\n],\n"last_seq":%s,"pending":%d}\n' % (json.dumps(event[1]), event[2])


def _buffered(pieces):
    """Joins pieces into writes of up to FEED_CHUNK: a write per change line cost more than
    making the line (each is a syscall and an HTTP chunk). A None piece sends at once."""
    held, size = [], 0
    for piece in pieces:
        if piece is not None:
            held.append(piece)
            size += len(piece)
            if size < FEED_CHUNK:
                continue
        if held:
            yield "".join(held)
            held, size = [], 0
    if held:
        yield "".join(held)


def _multipart_mixed(results: list) -> Response:
    boundary = uuid.uuid4().hex
    parts = []
    for entry in results:
        payload = entry.get("ok", entry)
        parts.append(
            f"--{boundary}\r\nContent-Type: application/json\r\n\r\n"
            + json.dumps(payload, ensure_ascii=False) + "\r\n"
        )
    body = "".join(parts) + f"--{boundary}--"
    return Response(body.encode("utf-8"), mimetype=f'multipart/mixed; boundary="{boundary}"')
