"""The field app's server side: its static shell at /app/, compressed, with a service worker whose
precache list names every file of the shell by its content hash.

The shell is `mobile_api/field_app/` (the app's own files, and `vendor/`, the libraries
`make field-app-deps` copies from npm). Besides the files, two answers are made here from the one
source of each: `/app/schemas.json` (the documents' JSON Schemas, so the phone's forms refuse what
the server would) and `/app/words.json` (the Chinese and English words of the codes the forms show,
and the refusals' titles from the error catalogue). Every file is read once per process and sent
compressed: brotli where the browser takes it (browsers do over HTTPS; a sixth smaller than gzip on
this shell), gzip otherwise, made with zopfli (4 % smaller than zlib's best, within the same 300 KB
as brotli for a phone on plain HTTP; about 3 s of CPU for the whole shell, once per process, each
file on its first request). Answers carry an ETag and
`Cache-Control: no-cache`: the service worker serves the shell offline, and a phone with a signal
revalidates in one small request.
"""
from __future__ import annotations

import hashlib
import json
import mimetypes
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import brotli
import zopfli.gzip
from flask import Blueprint, Flask, Response, abort, redirect, request

from schemas._loader import SCHEMA_DIR
from schemas.errors import REFUSALS
from server.interfaces.ledger.i18n import MESSAGES

SHELL_DIR = Path(__file__).resolve().parents[2] / "mobile_api" / "field_app"
# What the shell is made of: the app's own files and the vendored libraries, nothing else of the
# directory (its npm folder, package files and screenshots are not served).
SHELL_GLOBS = ("index.html", "manifest.webmanifest", "*.js", "*.css", "js/*.js", "icons/*.png",
               "vendor/*.js", "vendor/*.css", "vendor/workbox/*.js")
SERVICE_WORKER = "sw.js"
# The libraries the service worker itself loads (importScripts): cached by the browser with the
# worker, not precached.
WORKER_ONLY = ("vendor/workbox/",)
FORM_TYPES = ("common", "screening_report", "dispute", "household_visit", "notice_reply", "matter_step")
# The ledger's words the phone shows for codes: categories, risk levels, statuses, notices.
WORD_PREFIXES = ("cat_", "risk_", "ds_", "ns_", "kind_", "priority_", "method_", "mkind_", "mmethod_", "mchannel_",
                 "mresult_", "mstage_")

# Everything from Paicha itself. Vue compiles the screens' templates in the browser (no build step),
# which needs 'unsafe-eval'; photos are previewed and sent from data: and blob: URLs; Vant's icons are
# a font inside its CSS (a data: URL; its fallback on a CDN stays blocked).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' data: blob:; "
                           "worker-src 'self'; "
                           "manifest-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'")

bp = Blueprint("field_app", __name__, url_prefix="/app")


@dataclass(frozen=True)
class Asset:
    body: bytes
    mimetype: str
    etag: str


def _asset(body: bytes, mimetype: str) -> Asset:
    return Asset(body, mimetype, hashlib.sha256(body).hexdigest()[:20])


def _mimetype(name: str) -> str:
    if name.endswith(".webmanifest"):
        return "application/manifest+json"
    if name.endswith(".js"):
        return "text/javascript"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _generated() -> dict[str, Asset]:
    schemas = {name: json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text("utf-8")) for name in FORM_TYPES}
    words = {key: {"zh": zh, "en": en or zh} for key, (zh, en) in MESSAGES.items() if key.startswith(WORD_PREFIXES)}
    refusals = {code: {"zh": e.title_zh, "en": e.title_en, "detail_zh": e.detail_zh} for code, e in REFUSALS.items()}
    return {"schemas.json": _asset(_compact_json(schemas), "application/json"),
            "words.json": _asset(_compact_json({"words": words, "refusals": refusals}), "application/json")}


def _compact_json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@lru_cache(maxsize=1)
def shell() -> dict[str, Asset]:
    """Every file the app is made of, by its path under /app/ (read once per process)."""
    assets: dict[str, Asset] = {}
    for pattern in SHELL_GLOBS:
        for path in sorted(SHELL_DIR.glob(pattern)):
            name = path.relative_to(SHELL_DIR).as_posix()
            if name != SERVICE_WORKER:
                assets[name] = _asset(path.read_bytes(), _mimetype(name))
    assets.update(_generated())
    precache = [{"url": name if name != "index.html" else "./", "revision": asset.etag}
                for name, asset in sorted(assets.items()) if not name.startswith(WORKER_ONLY)]
    worker = (SHELL_DIR / SERVICE_WORKER).read_text("utf-8").replace(
        "self.__PRECACHE__", json.dumps(precache, separators=(",", ":")))
    assets[SERVICE_WORKER] = _asset(worker.encode("utf-8"), "text/javascript")
    return assets


def installed() -> bool:
    return (SHELL_DIR / "vendor" / "vue.global.prod.js").exists()


# Quality 10 of 11: within 2 % of the smallest, in half the time (about 2 s for the whole shell, once
# per process, each file on its first request).
BROTLI_QUALITY = 10


@lru_cache(maxsize=None)
def _brotli(name: str) -> bytes:
    return brotli.compress(shell()[name].body, quality=BROTLI_QUALITY)


ZOPFLI_ITERATIONS = 5  # within 0.2 % of its default 15, in a third of the time


@lru_cache(maxsize=None)
def _gzip(name: str) -> bytes:
    return zopfli.gzip.compress(shell()[name].body, numiterations=ZOPFLI_ITERATIONS)


def _send(name: str, asset: Asset) -> Response:
    if request.if_none_match and asset.etag in request.if_none_match:
        response = Response(status=304)
    elif "br" in request.accept_encodings:
        response = Response(_brotli(name), mimetype=asset.mimetype)
        response.headers["Content-Encoding"] = "br"
    elif "gzip" in request.accept_encodings:
        response = Response(_gzip(name), mimetype=asset.mimetype)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(asset.body, mimetype=asset.mimetype)
    response.set_etag(asset.etag)
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("")
def root():
    return redirect(request.script_root + "/app/", code=301)


@bp.get("/")
def index():
    return _page("index.html")


@bp.get("/<path:name>")
def file(name: str):
    return _page(name)


def _page(name: str) -> Response:
    if not installed():
        return Response("The field app's libraries are not installed: run `make field-app-deps`.\n",
                        status=503, mimetype="text/plain")
    asset = shell().get(name)
    if asset is None:
        abort(404)
    response = _send(name, asset)
    if asset.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
    if name == SERVICE_WORKER:
        response.headers["Service-Worker-Allowed"] = "/app/"
    return response


def init_app(app: Flask) -> None:
    if "field_app" not in app.blueprints:
        app.register_blueprint(bp)
