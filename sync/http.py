"""The CouchDB HTTP API as thin Flask views over the engine.

Each view parses the wire format, calls one engine method, and writes its typed result as CouchDB's
JSON (`wire`). Who the caller is and what they may touch comes from the injected
`get_access(db_name)`; errors are raised and turned into CouchDB's JSON by one handler.
"""
from __future__ import annotations

import json
import re
import urllib.parse
import uuid
from typing import Callable, Iterator

from flask import Blueprint, Response, current_app, request

from schemas.errors import PaichaError

from . import activity, errors, jsonio, jsonsplit, streamcoding, wire
from .access import Access
from .attachments import DEFAULT_CONTENT_TYPE
from .changes import ChangesOptions
from .docs import UnreadableDoc
from .results import Change, ChangeEvent, Heartbeat, Idle
from .store import Store

CHANGES_DEFAULT_TIMEOUT = 60.0
MAX_FEED_WAIT_S = 86400.0  # a longer timeout or heartbeat is a day (a thread's wait must be finite)


def couch_json(value, status: int = 200, headers: dict | None = None) -> Response:
    return Response(jsonio.dumpb(value) + b"\n", status=status,
                    mimetype="application/json", headers=headers)


def error_response(exc: PaichaError) -> Response:
    """CouchDB's shape of any error of the catalogue: `{"error", "reason"}` and its status. The host
    registers it once, for `PaichaError`, wherever CouchDB's API is served. (No WWW-Authenticate on
    a 401: browsers would pop a dialog; CouchDB omits it for JSON clients too.)"""
    return couch_json({"error": exc.error, "reason": exc.reason}, exc.status)


# -- request parsing ---------------------------------------------------------------------------
def _raw_body(required: bool = True) -> bytes:
    raw = request.get_data(cache=True)
    if not raw and required:
        raise errors.BadRequest("Request body is required.")
    return raw


def json_body(required: bool = True):
    raw = _raw_body(required)
    if not raw:
        return None
    try:
        return jsonio.loads(raw)
    except ValueError as exc:  # UnicodeDecodeError included
        raise _invalid_json(exc) from None


def _reason(exc: ValueError) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "the body is not UTF-8 text"
    return str(exc)


def _invalid_json(exc: ValueError) -> errors.CouchError:
    return errors.InvalidJson(f"invalid UTF-8 JSON: {_reason(exc)}")


def bulk_docs_body() -> dict:
    """The `_bulk_docs` body with each document parsed on its own when the body as a whole cannot
    be: a document nested too deep or holding a number too large becomes an `UnreadableDoc`,
    refused alone, not the reason the others are lost. Half characters are judged per document."""
    raw = _raw_body()
    try:
        body = jsonio.loads(raw, lone_surrogates=True)
    except ValueError as exc:
        split = jsonsplit.split_member_array(raw, "docs")
        if split is None:
            raise _invalid_json(exc) from None
        try:
            body = jsonio.loads(split.rest)
        except ValueError as rest_exc:
            raise _invalid_json(rest_exc) from None
        body["docs"] = [_document(text, jsonsplit.first_id(text), "The document is not valid JSON: {}.")
                        for text in split.elements]
    if not isinstance(body, dict) or not isinstance(body.get("docs"), list):
        raise errors.BadRequest("POST body must include `docs` parameter.")
    return body


def document_body():
    """A single document's body; one that cannot be read is an `UnreadableDoc`, which the
    engine refuses and keeps as received like any refused document."""
    return _document(_raw_body(), None, "invalid UTF-8 JSON: {}")


def _document(text: bytes, doc_id: str | None, reason: str):
    """A document's parsed JSON, or an `UnreadableDoc` (id, text as received, `reason` filled in)."""
    try:
        return jsonio.loads(text, lone_surrogates=True)
    except ValueError as exc:
        return UnreadableDoc(doc_id, text.decode("utf-8", "replace"), reason.format(_reason(exc)))


def q_bool(name: str, default: bool = False) -> bool:
    value = request.args.get(name)
    if value is None:
        return default
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise errors.BadRequest(f"Invalid boolean parameter: {name}")


MAX_QUERY_INT = 2**63 - 1  # what every store can compare with; a larger count means "all of them"


def q_int(name: str, default=None, minimum: int = 0):
    value = request.args.get(name)
    if value is None or value == "":
        return default
    if len(value) > 40:
        raise errors.BadRequest(f"Invalid integer parameter: {name}")
    try:
        number = int(value)
    except ValueError:
        raise errors.BadRequest(f"Invalid integer parameter: {name}") from None
    if number < minimum:
        raise errors.BadRequest(f"{name} must be at least {minimum}")
    return min(number, MAX_QUERY_INT)


def q_json(name: str, default=None, *aliases):
    for key in (name, *aliases):
        value = request.args.get(key)
        if value is not None:
            try:
                return jsonio.loads(value)
            except ValueError as exc:
                raise errors.BadRequest(f"Invalid JSON in parameter {key}: {_reason(exc)}") from None
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

    # A database name or document id may hold an encoded "/" ("a%2Fb"): it is one path segment.
    bp.record_once(lambda state: _keep_encoded_slashes(state.app, f"{bp.name}."))

    @bp.url_value_preprocessor
    def _decode_segments(_endpoint, values):
        if values and request.environ.get(ESCAPED_PATH):
            for key, value in values.items():
                values[key] = _unescape_segment(value)

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
        return couch_json(wire.info(open_db(db).info()))

    @bp.put("/<db>")
    @bp.put("/<db>/", endpoint="db_create_slash")  # PouchDB's remote database creation asks here
    def db_create(db):
        admin_only()
        store.create_database(db)
        return couch_json({"ok": True}, 201)

    @bp.delete("/<db>")
    @bp.delete("/<db>/", endpoint="db_delete_slash")  # PouchDB's destroy() asks here
    def db_delete(db):
        admin_only()
        if request.args.get("rev"):
            raise errors.BadRequest("You tried to DELETE a database with a ?rev= parameter.")
        store.delete_database(db)
        return couch_json({"ok": True})

    @bp.post("/<db>")
    def db_post_doc(db):
        database = open_db(db)
        body = document_body()
        result = database.put(body, _new_id(body))
        return couch_json(wire.write_result(result), 201)

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
        _refuse_ddoc_filter(database)
        return _stream_changes(database.changes(options), options)

    @bp.post("/<db>/_revs_diff")
    def revs_diff(db):
        return couch_json(wire.revs_diff(open_db(db).revs_diff(json_body())))

    @bp.post("/<db>/_bulk_docs")
    def bulk_docs(db):
        database = open_db(db)
        body = bulk_docs_body()
        new_edits = body.get("new_edits", True)
        if not isinstance(new_edits, bool):
            raise errors.BadRequest("new_edits must be a boolean")
        return couch_json(wire.bulk_docs(database.bulk_docs(body["docs"], new_edits=new_edits), new_edits), 201)

    @bp.post("/<db>/_bulk_get")
    def bulk_get(db):
        database = open_db(db)
        body = json_body()
        if not isinstance(body, dict) or not isinstance(body.get("docs"), list):
            raise errors.BadRequest("Missing JSON list of 'docs'.")
        results = database.bulk_get(body["docs"], revs=q_bool("revs"), attachments=q_bool("attachments"),
                                    latest=q_bool("latest"))
        activity.docs_sent(db, len(body["docs"]))
        return couch_json({"results": wire.bulk_get(results)})

    @bp.route("/<db>/_all_docs", methods=["GET", "POST"])
    def all_docs(db):
        database = open_db(db)
        query = _all_docs_query(json_body(required=False) if request.method == "POST" else None)
        update_seq_wanted = query.pop("update_seq")
        page = database.all_docs(**query)
        return couch_json(wire.all_docs(page, query["include_docs"], update_seq_wanted, query["keys"] is not None))

    # -- _local documents -----------------------------------------------------------------------
    @bp.get("/<db>/_local/<path:doc_id>")
    def local_get(db, doc_id):
        _local_only()
        database = open_db(db)
        activity.state(db, activity.CHECKPOINT_READ)  # found or not: a replication starts
        return couch_json(database.get_local(doc_id))

    @bp.put("/<db>/_local/<path:doc_id>")
    def local_put(db, doc_id):
        _local_only()
        body = json_body()
        if isinstance(body, dict) and request.args.get("rev") and "_rev" not in body:
            body["_rev"] = request.args["rev"]
        result = wire.write_result(open_db(db).put_local(doc_id, body))
        activity.state(db, activity.CHECKPOINT_WRITE)
        return couch_json(result, 201)

    @bp.delete("/<db>/_local/<path:doc_id>")
    def local_delete(db, doc_id):
        _local_only()
        return couch_json(wire.write_result(open_db(db).delete_local(doc_id, request.args.get("rev"))))

    # -- documents ------------------------------------------------------------------------------
    @bp.route("/<db>/<doc_id>", methods=["GET", "HEAD"])
    @bp.route("/<db>/_design/<path:design>", methods=["GET", "HEAD"], endpoint="design_get")
    def doc_get(db, doc_id=None, design=None):
        doc_id = doc_id if design is None else f"_design/{design}"
        if doc_id == "_local" or doc_id.startswith("_local/"):  # "_local", or "_local%2Fname"
            return local_get(db, _local_name(doc_id))
        if doc_id.startswith("_") and not doc_id.startswith("_design/"):
            raise errors.NotFound("missing")
        database = open_db(db)
        open_revs = request.args.get("open_revs")
        if open_revs is not None:
            which = "all" if open_revs == "all" else q_json("open_revs")
            if which != "all" and not isinstance(which, list):
                raise errors.BadRequest("open_revs must be 'all' or a JSON array of revs")
            results = wire.open_revs(database.open_revs(
                doc_id, which, revs=q_bool("revs"), attachments=q_bool("attachments"), latest=q_bool("latest"),
                atts_since=q_json("atts_since")))
            activity.docs_sent(db, len(results))
            if "multipart/mixed" in request.headers.get("Accept", ""):
                return _multipart_mixed(results)
            return couch_json(results)
        doc = database.get(
            doc_id, rev=request.args.get("rev"), revs=q_bool("revs"), revs_info=q_bool("revs_info"),
            conflicts=q_bool("conflicts"), deleted_conflicts=q_bool("deleted_conflicts"),
            attachments=q_bool("attachments"), atts_since=q_json("atts_since"), latest=q_bool("latest"),
            local_seq=q_bool("local_seq"),
        )
        activity.docs_sent(db, 1)
        return couch_json(doc, headers={"ETag": f'"{doc["_rev"]}"'})

    @bp.put("/<db>/<doc_id>")
    @bp.put("/<db>/_design/<path:design>", endpoint="design_put")
    def doc_put(db, doc_id=None, design=None):
        doc_id = doc_id if design is None else f"_design/{design}"
        if doc_id == "_local" or doc_id.startswith("_local/"):  # "_local", or "_local%2Fname"
            return local_put(db, _local_name(doc_id))
        database = open_db(db)
        rev = request.args.get("rev") or _if_match()
        result = database.put(document_body(), doc_id, new_edits=q_bool("new_edits", True), rev=rev)
        return couch_json(wire.write_result(result), 201, headers={"ETag": f'"{result.rev}"'})

    @bp.delete("/<db>/<doc_id>")
    @bp.delete("/<db>/_design/<path:design>", endpoint="design_delete")
    def doc_delete(db, doc_id=None, design=None):
        doc_id = doc_id if design is None else f"_design/{design}"
        if doc_id == "_local" or doc_id.startswith("_local/"):  # "_local", or "_local%2Fname"
            return local_delete(db, _local_name(doc_id))
        result = open_db(db).delete(doc_id, request.args.get("rev") or _if_match())
        return couch_json(wire.write_result(result))

    @bp.route("/<db>/<doc_id>/<path:name>", methods=["GET", "HEAD"])
    def attachment_get(db, doc_id, name):
        stub, data = open_db(db).get_attachment(doc_id, name, request.args.get("rev"))
        # The content type exactly as stored (a `mimetype` would get "; charset=utf-8" added to
        # text/*), and CouchDB's ETag: the quoted base64 md5 (chttpd_db:db_attachment_req).
        md5 = stub["digest"][4:]
        return Response(data, content_type=stub.get("content_type") or DEFAULT_CONTENT_TYPE,
                        headers={"Content-MD5": md5, "ETag": f'"{md5}"', "Cache-Control": "must-revalidate"})

    @bp.put("/<db>/<doc_id>/<path:name>")
    def attachment_put(db, doc_id, name):
        result = open_db(db).put_attachment(
            doc_id, name, request.args.get("rev") or _if_match(),
            request.content_type or "application/octet-stream", request.get_data(),
        )
        return couch_json(wire.write_result(result), 201)

    @bp.delete("/<db>/<doc_id>/<path:name>")
    def attachment_delete(db, doc_id, name):
        result = open_db(db).delete_attachment(doc_id, name, request.args.get("rev") or _if_match())
        return couch_json(wire.write_result(result))

    return bp


ESCAPED_PATH = "paicha.escaped_path"
_ESCAPED = re.compile("%(25|2F)")


def _keep_encoded_slashes(app, endpoint_prefix: str) -> None:
    """Routes the CouchDB API on the path as the client sent it, split at its slashes and then
    decoded segment by segment, as CouchDB does (chttpd splits the raw path): a database `a/b` is
    `/a%2Fb`, a document `x/y` is `/db/x%2Fy`, where the decoded path (the WSGI PATH_INFO) would
    be `/a/b` and `/db/x/y`, other addresses altogether. Only when the raw path has an encoded
    "/" or "%", and only for this API's routes: the path is then given with each segment's "%" and
    "/" encoded again, which `_decode_segments` undoes in the route's values."""
    inner = app.wsgi_app

    def wsgi(environ, start_response):
        escaped = _escaped_path(environ)
        if escaped is not None and _endpoint(app, environ, escaped).startswith(endpoint_prefix):
            environ["PATH_INFO"] = escaped
            environ[ESCAPED_PATH] = True
        return inner(environ, start_response)

    app.wsgi_app = wsgi


def _escaped_path(environ) -> str | None:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw or environ.get("SCRIPT_NAME"):
        return None
    path = raw.split("?", 1)[0] if raw.startswith("/") else urllib.parse.urlsplit(raw).path
    if "%2f" not in path.lower() and "%25" not in path:
        return None
    try:
        segments = [urllib.parse.unquote_to_bytes(segment.encode("latin-1")) for segment in path.split("/")]
    except UnicodeEncodeError:
        return None
    return b"/".join(s.replace(b"%", b"%25").replace(b"/", b"%2F") for s in segments).decode("latin-1")


def _endpoint(app, environ, path_info: str) -> str:
    adapter = app.url_map.bind_to_environ({**environ, "PATH_INFO": path_info})
    for method in (environ.get("REQUEST_METHOD", "GET"), "GET", "PUT", "POST", "DELETE"):
        try:
            return adapter.match(method=method)[0]
        except Exception:  # noqa: BLE001 - no route, another method's route, a redirect
            continue
    return ""


def _unescape_segment(value):
    if not isinstance(value, str):
        return value
    return _ESCAPED.sub(lambda m: "%" if m.group(1) == "25" else "/", value)


def _local_name(doc_id: str) -> str:
    name = doc_id[len("_local/"):]
    if not name:
        raise errors.BadRequest("Invalid _local document id.")
    return name


def _local_only() -> None:
    """As CouchDB's chttpd_db:db_req: `/db/_local/name` is the document, anything below it an
    attachment, which a `_local` document cannot have."""
    if len([segment for segment in request.path.split("/") if segment]) > 3:
        raise errors.BadRequest("_local documents do not accept attachments.")


def _new_id(body) -> str:
    if isinstance(body, dict) and isinstance(body.get("_id"), str):
        return body["_id"]
    return uuid.uuid4().hex


def _if_match() -> str | None:
    value = request.headers.get("If-Match")
    return value.strip('"') if value else None


_ALL_DOCS_FLAGS = ("descending", "include_docs", "inclusive_end", "conflicts", "attachments", "update_seq")


def _all_docs_query(body) -> dict:
    """`_all_docs` options as CouchDB reads them (couch_mrview_http:parse_body_and_query): a POST
    body's members first, then the query string's, in order, a later one replacing an earlier;
    `key` sets both ends, as does a `keys` of one key; then couch_mrview_util:validate_args."""
    if body is not None and not isinstance(body, dict):
        raise errors.BadRequest("Request body must be a JSON object")
    body = body or {}
    keys = body.get("keys")
    if request.method == "POST" and keys is not None and not isinstance(keys, list):
        raise errors.BadRequest("`keys` body member must be an array.")
    if request.method == "GET":
        keys = q_json("keys")
        if keys is not None and not isinstance(keys, list):
            raise errors.BadRequest("`keys` parameter must be an array.")
    o = {"keys": keys, "start": _UNSET, "end": _UNSET, "limit": None, "skip": 0, "descending": False,
         "include_docs": False, "inclusive_end": True, "conflicts": False, "attachments": False,
         "update_seq": False}
    params = [(k, v, True) for k, v in body.items()] + [(k, v, False) for k, v in request.args.items(multi=True)]
    for name, value, decoded in params:
        if name in ("key", "keys", "startkey", "start_key", "endkey", "end_key"):
            if not decoded:
                try:
                    value = jsonio.loads(value)
                except ValueError as exc:
                    raise errors.BadRequest(f"Invalid JSON in parameter {name}: {_reason(exc)}") from None
            if name == "key":
                o["start"] = o["end"] = value
            elif name == "keys":
                if isinstance(value, list) and len(value) == 1:
                    o["start"] = o["end"] = value[0]
                else:
                    o["keys"] = value
            elif name in ("startkey", "start_key"):
                o["start"] = value
            else:
                o["end"] = value
        elif name in ("limit", "skip"):
            o[name] = _pos_int(name, value)
        elif name in _ALL_DOCS_FLAGS:
            o[name] = _query_bool(name, value)
    keys, start, end = o["keys"], o["start"], o["end"]
    if keys is not None and not isinstance(keys, list):
        raise errors.QueryParseError("`keys` must be an array of strings.")
    if not (keys is None or keys == [] or (len(keys) == 1 and start == end == keys[0] and start is not _UNSET)
            or (start is _UNSET and end is _UNSET)):
        raise errors.QueryParseError("`keys` is incompatible with `key`, `start_key` and `end_key`")
    o["start"] = None if start is _UNSET else start
    o["end"] = None if end is _UNSET else end
    return o


_UNSET = object()


def _pos_int(name: str, value) -> int:
    """couch_mrview_http:parse_pos_int: a whole number, at least 0."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise errors.QueryParseError(f"Invalid value for integer: {json.dumps(value)}")
    try:
        number = int(value) if isinstance(value, int) or len(value) <= 40 else None
    except ValueError:
        number = None
    if number is None:
        raise errors.QueryParseError(f'Invalid value for integer: "{value}"')
    if number < 0:
        raise errors.QueryParseError(f"Invalid value for positive integer: {json.dumps(value)}")
    return min(number, MAX_QUERY_INT)


def _query_bool(name: str, value) -> bool:
    """couch_mrview_http:parse_boolean: true or false, in any case."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise errors.QueryParseError(f"Invalid boolean parameter: {json.dumps(value)}")


def _refuse_ddoc_filter(database) -> None:
    """A design document's filter (`filter=ddoc/name`) or view (`filter=_view&view=ddoc/name`)
    would run JavaScript, which Paicha does not: the feed is refused as CouchDB refuses one whose
    function is not there (couch_changes:configure_filter), 404 for a missing design document
    ("missing" or "deleted") or member ("missing json key: NAME")."""
    name = request.args.get("filter")
    if not name or (name.startswith("_") and name != "_view"):
        return
    if name == "_view":
        view = request.args.get("view", "")
        if not view:
            raise errors.BadRequest("`view` filter parameter is not provided.")
        parts, member, form = view, "views", "`view` must be of the form `designname/viewname`"
    else:
        parts, member, form = name, "filters", "`filter` must be of the form `designname/filtername`"
    parts = [urllib.parse.unquote(part) for part in parts.split("/") if part]
    if not parts and member == "filters":
        return  # no name at all: the whole feed, as CouchDB
    if len(parts) != 2:
        raise errors.BadRequest(form)
    ddoc = database.get(f"_design/{parts[0]}")
    functions = ddoc.get(member)
    if functions is None:
        raise errors.NotFound(f"missing json key: {member}")
    if not isinstance(functions, dict):
        raise errors.NotFound("json_mismatch")
    # Whether or not the function is there, none is run: answered as when it is not.
    raise errors.NotFound(f"missing json key: {parts[1]}")


def _changes_options(body) -> ChangesOptions:
    body = body if isinstance(body, dict) else {}
    since = request.args.get("since", "0")
    if since != "now":
        try:
            since = int(since)
        except ValueError:
            try:
                since = int(json.loads(since)) if since.startswith('"') else int(since.split("-")[0])
            except (ValueError, TypeError, RecursionError):
                raise errors.BadRequest("Malformed since value.") from None
        since = max(0, min(since, MAX_QUERY_INT))  # beyond the last change: nothing yet
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
    elif filter_name and filter_name.startswith("_") and filter_name not in ("_design", "_view"):
        raise errors.BadRequest("unknown builtin filter name")  # couch_changes:configure_filter
    heartbeat = request.args.get("heartbeat")
    if heartbeat == "true":
        heartbeat_s = 60.0
    elif heartbeat:
        heartbeat_s = min(max(q_int("heartbeat", 60000, 1) / 1000.0, 0.1), MAX_FEED_WAIT_S)
    else:
        heartbeat_s = None
    timeout_ms = q_int("timeout", None, 0)
    if timeout_ms is not None:
        timeout_ms = min(timeout_ms, MAX_FEED_WAIT_S * 1000)
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
        design_only=filter_name == "_design",
    )


FEED_CHUNK = 64 * 1024  # characters of feed held before a write


def _stream_changes(events: Iterator[ChangeEvent], options: ChangesOptions) -> Response:
    # Options were validated before this point, so errors still get a proper status; the opening
    # bytes go out at once so that clients see the response start before any heartbeat is due.
    headers = {"Cache-Control": "must-revalidate", "Vary": "Accept-Encoding"}
    pieces = _buffered(_feed_lines(events, options))
    encoding = streamcoding.choose(request.accept_encodings)
    if encoding is None:
        return Response(pieces, mimetype="application/json", headers=headers)
    headers["Content-Encoding"] = encoding
    body = streamcoding.encode(encoding, (piece.encode("utf-8") for piece in pieces))
    return Response(body, mimetype="application/json", headers=headers)


def _feed_lines(events: Iterator[ChangeEvent], options: ChangesOptions):
    """The feed's text, piece by piece; None where everything so far must reach the client now
    (the feed is about to wait, or a heartbeat). Continuous: a JSON object per line; otherwise one
    JSON document whose "results" array grows as changes come."""
    continuous = options.feed in ("continuous", "eventsource")
    include_docs = options.include_docs
    if not continuous:
        yield '{"results":[\n'
        yield None
    sep = ""
    for event in events:
        if isinstance(event, Change):
            line = jsonio.dumpt(wire.change(event, include_docs))
            yield line + "\n" if continuous else sep + line
            sep = ",\n"
        elif isinstance(event, (Heartbeat, Idle)):
            if isinstance(event, Heartbeat):
                yield "\n"
            yield None
        elif continuous:
            yield json.dumps({"last_seq": event.seq, "pending": event.pending}) + "\n"
        else:
            yield '\n],\n"last_seq":%s,"pending":%d}\n' % (json.dumps(event.seq), event.pending)


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
