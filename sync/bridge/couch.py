"""The remote side: a CouchDB-protocol database (Apache CouchDB, PouchDB Server, another Paicha)
spoken to through the `couchdb` package (python-couchdb 1.2).

python-couchdb 1.2 imports and works on Python 3.11 unchanged. The bridge does not patch it; it
uses it this way (all of it in this module):

* `BridgeSession` is a `couchdb.http.Session` without the response cache. Stock sessions cache
  every GET answer that has an ETag (up to 75 of them, attachments included) and replay it after a
  304; a replicator reads each revision once, so the cache is only memory.
* Credentials never go through the URL. `couchdb.http.extract_credentials` splits user-info on
  ':' and '@' without unquoting the separators first, so a password containing either breaks;
  the bridge gives the package a credential-free URL and sets `Resource.credentials` itself.
* Every request goes through `RemotePeer._request`, which turns the package's exceptions
  (`HTTPError` subclasses carrying `(status, (error, reason))`, socket errors, `http.client`
  errors, and the `TypeError`/`AttributeError` its error path raises for an error answer without
  a JSON content type or with a streamed body) into the bridge's own errors.
* `import couchdb` imports `pkg_resources` to find its own version (slow, and deprecated in recent
  setuptools; without setuptools the version is just '?'). The package `sync.bridge` therefore
  imports this module only when a remote peer is made, so the processes that never replicate with a
  CouchDB (every server, most `flask` commands) do not pay for it.
"""
from __future__ import annotations

import http.client
import json
import logging
import socket

from couchdb import http as couch_http

from .errors import BridgeError, PeerMissing, PeerRefused, PeerUnavailable, RequestRejected
from .peer import Changes, parse_bulk_get
from .urls import RemoteURL

log = logging.getLogger("sync.bridge")

JSON_HEADERS = {"Accept": "application/json"}


class _NoCache(couch_http.Cache):
    def get(self, url):
        return None

    def put(self, url, response):
        pass


class BridgeSession(couch_http.Session):
    """A python-couchdb session without the response cache (see the module docstring)."""

    def __init__(self, timeout: float | None):
        # retry_delays: one quick retry of a request whose pooled keep-alive connection the
        # server had closed (ECONNRESET); longer outages are the replicator's back-off's job.
        super().__init__(timeout=timeout, retry_delays=[0, 0.5])
        self.cache = _NoCache()


class RemotePeer:
    """One database on a CouchDB-protocol server."""

    kind = "remote"

    def __init__(self, remote: RemoteURL, *, timeout: float = 60.0, longpoll_seconds: float = 25.0):
        self.remote = remote
        self.label = remote.public
        self.timeout = timeout
        self.longpoll_seconds = longpoll_seconds
        self._db = self._resource(remote.url, BridgeSession(timeout))
        # Long polls get their own connections, with a socket time-out past the poll's.
        self._poll_db = self._resource(remote.url, BridgeSession(longpoll_seconds + 15))
        self._server = self._resource(remote.server_url, self._db.session)
        self._bulk_get: bool | None = None  # unknown until first tried
        self._vendor: str | None = None

    def _resource(self, url: str, session) -> couch_http.Resource:
        resource = couch_http.Resource(url, session)
        resource.credentials = self.remote.credentials
        return resource

    def __repr__(self) -> str:
        return f"<RemotePeer {self.label}>"

    # -- requests ---------------------------------------------------------------------------------
    def _request(self, method: str, path: tuple = (), *, body=None, resource=None, **params):
        base = resource if resource is not None else self._db
        target = base(*path) if path else base
        where = self.label if base is not self._server else self.label.rsplit("/", 1)[0] + "/"
        what = f"{method} {where}{''.join('/' + p for p in path) if base is not self._server else '/'.join(path)}"
        try:
            _status, headers, data = target._request_json(method, body=body, headers=dict(JSON_HEADERS), **params)
        except couch_http.HTTPError as exc:
            raise _translate(exc, what) from None
        except (socket.timeout, TimeoutError) as exc:
            raise PeerUnavailable(f"{what}: timed out") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise PeerUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc
        except (TypeError, AttributeError, ValueError) as exc:
            # python-couchdb's error path on an answer it cannot decode.
            raise PeerUnavailable(f"{what}: unreadable answer ({type(exc).__name__})") from exc
        if hasattr(data, "read"):  # not JSON: the package hands back the raw body
            raise PeerUnavailable(f"{what}: answer is {headers.get('content-type')!r}, not JSON")
        return data

    # -- identity and set-up -----------------------------------------------------------------------
    def identity(self) -> str:
        return f"couchdb:{self.remote.url}"

    def vendor(self) -> str:
        """'pouchdb-server', 'couchdb' (Apache CouchDB, Paicha, ...) or 'unknown'."""
        if self._vendor is None:
            try:
                welcome = self._request("GET", resource=self._server)
            except BridgeError:
                welcome = {}
            if isinstance(welcome, dict) and "express-pouchdb" in welcome:
                self._vendor = "pouchdb-server"
            elif isinstance(welcome, dict) and "couchdb" in welcome:
                self._vendor = "couchdb"
            else:
                self._vendor = "unknown"
        return self._vendor

    def info(self) -> dict:
        return self._request("GET")

    def create(self) -> bool:
        """Create the database; False if it already existed."""
        try:
            self._request("PUT", (self.remote.db_name,), resource=self._server)
            return True
        except RequestRejected as exc:
            if exc.status == 412:
                return False
            raise

    # -- the replication protocol --------------------------------------------------------------------
    def changes(self, since, limit: int, wait: float | None = None) -> Changes:
        params = {"style": "all_docs", "since": since, "limit": limit}
        if not wait:
            data = self._request("GET", ("_changes",), **params)
        else:
            wait = min(wait, self.longpoll_seconds)
            params.update(feed="longpoll", timeout=int(wait * 1000))
            if self.vendor() == "pouchdb-server":
                # It ignores `timeout` and sends a newline every 6 s instead; a heartbeat longer
                # than the socket time-out makes an idle poll end as a time-out, below.
                params["heartbeat"] = int((self.longpoll_seconds + 60) * 1000)
            try:
                data = self._request("GET", ("_changes",), resource=self._poll_db, **params)
            except PeerUnavailable as exc:
                if "timed out" not in str(exc):
                    raise
                return Changes([], since, 0)
        results = data.get("results") or []
        pending = data.get("pending")
        return Changes(results, data.get("last_seq", since), pending if isinstance(pending, int) else None)

    def revs_diff(self, revs: dict[str, list[str]]) -> dict:
        if not revs:
            return {}
        return self._request("POST", ("_revs_diff",), body=revs)

    def fetch(self, wanted: list[dict]) -> tuple[list[dict], list[dict]]:
        """Missing revisions with their history and attachments: (docs, errors)."""
        if not wanted:
            return [], []
        if self._bulk_get is not False:
            try:
                data = self._request("POST", ("_bulk_get",), body={"docs": wanted},
                                     revs="true", attachments="true", latest="true")
                self._bulk_get = True
                return parse_bulk_get(data.get("results") or [])
            except (RequestRejected, PeerMissing) as exc:
                if self._bulk_get:
                    raise
                log.info("%s has no usable _bulk_get (%s): fetching with open_revs", self.label, exc)
                self._bulk_get = False
        return self._fetch_open_revs(wanted)

    def _fetch_open_revs(self, wanted: list[dict]) -> tuple[list[dict], list[dict]]:
        by_id: dict[str, dict] = {}
        for item in wanted:
            entry = by_id.setdefault(item["id"], {"revs": [], "atts_since": set()})
            entry["revs"].append(item["rev"])
            entry["atts_since"].update(item.get("atts_since") or [])
        docs, errors = [], []
        for doc_id, entry in by_id.items():
            params = {"open_revs": json.dumps(entry["revs"]), "revs": "true", "attachments": "true",
                      "latest": "true"}
            if entry["atts_since"]:
                params["atts_since"] = json.dumps(sorted(entry["atts_since"]))
            try:
                answers = self._request("GET", (doc_id,), **params)
            except PeerMissing:
                errors.extend({"id": doc_id, "rev": rev, "error": "not_found"} for rev in entry["revs"])
                continue
            for answer in answers:
                if "ok" in answer:
                    docs.append(answer["ok"])
                else:
                    errors.append({"id": doc_id, "rev": answer.get("missing"), "error": "not_found"})
        return docs, errors

    def write(self, docs: list[dict]) -> list[dict]:
        """Write revisions as they are (new_edits=false); the refused ones' error entries."""
        if not docs:
            return []
        answer = self._request("POST", ("_bulk_docs",), body={"docs": docs, "new_edits": False})
        return [entry for entry in answer if isinstance(entry, dict) and "error" in entry]

    def admit(self, doc: dict) -> str | None:
        return None  # the remote applies its own rules (validate_doc_update) on write

    # -- checkpoints ------------------------------------------------------------------------------
    def get_checkpoint(self, rep_id: str) -> dict | None:
        try:
            return self._request("GET", ("_local", rep_id))
        except PeerMissing:
            return None

    def put_checkpoint(self, rep_id: str, body: dict) -> str:
        answer = self._request("PUT", ("_local", rep_id), body=body)
        return answer.get("rev")


def _translate(exc: couch_http.HTTPError, what: str) -> BridgeError:
    detail = exc.args[0] if exc.args else None
    status = None
    if isinstance(exc, couch_http.ServerError) and isinstance(detail, tuple) and len(detail) == 2:
        status, detail = detail
    error = reason = None
    if isinstance(detail, tuple) and len(detail) == 2:
        error, reason = detail
    elif isinstance(detail, (bytes, str)):
        reason = detail.decode("utf-8", "replace")[:200] if isinstance(detail, bytes) else detail[:200]
    message = f"{what}: {error or ''} {reason or ''}".strip()
    if isinstance(exc, couch_http.Unauthorized):
        return PeerRefused(f"{message} (check PAICHA_COUCH_USER / PAICHA_COUCH_PASSWORD)")
    if isinstance(exc, couch_http.Forbidden):
        return PeerRefused(message)
    if isinstance(exc, couch_http.ResourceNotFound):
        return PeerMissing(message)
    if isinstance(exc, couch_http.ResourceConflict):
        return RequestRejected(message, 409, error or "conflict")
    if isinstance(exc, couch_http.PreconditionFailed):
        return RequestRejected(message, 412, error or "precondition_failed")
    if isinstance(status, int) and (status >= 500 or status == 429):
        return PeerUnavailable(f"{message} (HTTP {status})")
    return RequestRejected(f"{message} (HTTP {status})", status, error)
