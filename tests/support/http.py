"""HTTP to the server under test with `requests`, as admin by default."""
from __future__ import annotations

import json
from urllib.parse import quote

import requests


class Couch:
    """A thin client: paths are relative to the server URL; every call returns the Response."""

    def __init__(self, base_url: str, auth: tuple[str, str] | None = None, timeout: float = 60.0):
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = auth
        self.timeout = timeout

    def url(self, path: str) -> str:
        return self.base + "/" + path.lstrip("/")

    def request(self, method: str, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", self.timeout)
        return self.session.request(method, self.url(path), **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def ok_json(self, method: str, path: str, **kw) -> dict:
        """The JSON body of a 2xx answer; AssertionError (with the answer) otherwise."""
        r = self.request(method, path, **kw)
        assert 200 <= r.status_code < 300, f"{method} {path} -> {r.status_code} {r.text[:1000]}"
        return r.json()


def doc_path(db: str, doc_id: str) -> str:
    """/{db}/{id}, with the id escaped as CouchDB wants (a '/' inside an id too, except _design/)."""
    if doc_id.startswith("_design/") or doc_id.startswith("_local/"):
        prefix, rest = doc_id.split("/", 1)
        return f"{db}/{prefix}/{quote(rest, safe='')}"
    return f"{db}/{quote(doc_id, safe='')}"


def qs_json(value) -> str:
    """A JSON value for a query string parameter (keys=, open_revs=...)."""
    return json.dumps(value, separators=(",", ":"))


class Db:
    """One database on the server, through a Couch client."""

    def __init__(self, couch: Couch, name: str):
        self.couch = couch
        self.name = name

    @property
    def url(self) -> str:
        return self.couch.url(self.name)

    def info(self) -> dict:
        return self.couch.ok_json("GET", self.name)

    def doc(self, doc_id: str, **params) -> dict:
        params = {k: (qs_json(v) if isinstance(v, (list, dict, bool)) else v) for k, v in params.items()}
        return self.couch.ok_json("GET", doc_path(self.name, doc_id), params=params)

    def get(self, doc_id: str, **params) -> requests.Response:
        params = {k: (qs_json(v) if isinstance(v, (list, dict, bool)) else v) for k, v in params.items()}
        return self.couch.get(doc_path(self.name, doc_id), params=params)

    def put(self, doc: dict, **params) -> dict:
        return self.couch.ok_json("PUT", doc_path(self.name, doc["_id"]), json=doc, params=params)

    def bulk_docs(self, docs: list[dict], new_edits: bool = True) -> list[dict]:
        body = {"docs": docs}
        if not new_edits:
            body["new_edits"] = False
        return self.couch.ok_json("POST", f"{self.name}/_bulk_docs", json=body)

    def all_docs(self, **params) -> dict:
        params = {k: (qs_json(v) if isinstance(v, (list, dict, bool)) else v) for k, v in params.items()}
        return self.couch.ok_json("GET", f"{self.name}/_all_docs", params=params)

    def changes(self, **params) -> dict:
        """The whole normal feed (one request; CouchDB sends it all without a limit)."""
        params = {k: (qs_json(v) if isinstance(v, bool) else v) for k, v in params.items()}
        return self.couch.ok_json("GET", f"{self.name}/_changes", params=params)

    def changes_ids(self) -> list[str]:
        return [row["id"] for row in self.changes()["results"]]

    def local(self, local_id: str) -> requests.Response:
        """GET /{db}/_local/{id} (local_id with or without the "_local/" prefix)."""
        bare = local_id[len("_local/"):] if local_id.startswith("_local/") else local_id
        return self.couch.get(f"{self.name}/_local/{quote(bare, safe='')}")

    def attachment(self, doc_id: str, name: str, **params) -> requests.Response:
        return self.couch.get(doc_path(self.name, doc_id) + "/" + quote(name, safe=""), params=params)
