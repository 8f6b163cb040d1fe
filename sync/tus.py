"""Resumable uploads of a document revision over the tus protocol 1.0.0 (tus.io): core, creation,
creation-with-upload, termination and expiration, so any tus client (tus-js-client in the field app)
can send a photo that survives a cut link.

    OPTIONS /{db}/_uploads            what this server speaks
    POST    /{db}/_uploads            begin: Upload-Length, Upload-Metadata `doc_id` and `content_type`
                                      (the revision's multipart/related type); 201 with its Location
    HEAD    /{db}/_uploads/{id}       how many bytes the server holds (Upload-Offset)
    PATCH   /{db}/_uploads/{id}       more bytes from Upload-Offset (application/offset+octet-stream)
    DELETE  /{db}/_uploads/{id}       give up

What is uploaded is one revision in CouchDB's multipart/related form (`sync.multipart`); the rules
are `sync.uploads`'. Errors are the catalogue's, in CouchDB's JSON, with the status codes tus
clients act on (404: begin again, 409: ask the offset again, 4xx otherwise: give up and say why).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
from email.utils import format_datetime
from typing import Callable, Iterator

from flask import Blueprint, Response, current_app, request, url_for
from werkzeug.exceptions import BadRequest as UnreadableBody

from . import errors
from .access import Access
from .store import Store
from .uploads import RevisionUploads, Upload

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,expiration"
OFFSET_OCTET_STREAM = "application/offset+octet-stream"
READ_BYTES = 8192  # a read from the client; pieces are committed per sync.uploads.PIECE_BYTES


def make_upload_blueprint(store: Store, get_access: Callable[[str | None], Access],
                          now: Callable[[], dt.datetime], lifetime: dt.timedelta) -> Blueprint:
    bp = Blueprint("revision_uploads", __name__)

    def uploads_of(db: str) -> RevisionUploads:
        return RevisionUploads(store.open(db, get_access(db)), now, lifetime)

    @bp.before_request
    def speaks_tus():
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise errors.TusVersion()

    @bp.after_request
    def tus_headers(response: Response) -> Response:
        response.headers["Tus-Resumable"] = TUS_VERSION
        if response.status_code == 412:
            response.headers["Tus-Version"] = TUS_VERSION
        return response

    @bp.route("/<db>/_uploads", methods=["OPTIONS"])
    def capabilities(db):
        return Response(status=204, headers={
            "Tus-Version": TUS_VERSION, "Tus-Extension": EXTENSIONS, "Tus-Max-Size": str(_max_bytes()),
        })

    @bp.post("/<db>/_uploads")
    def begin(db):
        uploads = uploads_of(db)  # who asks, before anything they sent is looked at
        if "Upload-Defer-Length" in request.headers:
            raise errors.BadRequest("Upload-Defer-Length is not supported: give Upload-Length.")
        length = _header_int("Upload-Length")
        if length > _max_bytes():
            raise errors.UploadTooLarge(f"Upload-Length is over the server's limit of {_max_bytes()} bytes.",
                                        limit=_max_bytes())
        raw_metadata = request.headers.get("Upload-Metadata", "")
        metadata = _metadata(raw_metadata)
        missing = [key for key in ("doc_id", "content_type") if not metadata.get(key)]
        if missing:
            raise errors.BadRequest(f"Upload-Metadata must give {' and '.join(missing)}.")
        upload = uploads.begin(metadata["doc_id"], metadata["content_type"], length, raw_metadata)
        headers = {"Location": url_for(".progress", db=db, upload_id=upload.id), **_expiry(upload)}
        if request.content_length or request.headers.get("Transfer-Encoding"):
            upload = _receive(uploads, upload, 0)
            headers.update({"Upload-Offset": str(upload.received), **_expiry(upload)})
        return Response(status=201, headers=headers)

    @bp.route("/<db>/_uploads/<upload_id>", methods=["HEAD"])
    def progress(db, upload_id):
        uploads = uploads_of(db)
        upload = uploads.find(upload_id)
        uploads.retry_write(upload)  # whole, but its write failed: written now, or the error is said
        return Response(status=200, headers={
            "Upload-Offset": str(upload.received), "Upload-Length": str(upload.length),
            "Upload-Metadata": upload.metadata, "Cache-Control": "no-store", **_expiry(upload),
        })

    @bp.route("/<db>/_uploads/<upload_id>", methods=["PATCH"])
    def append(db, upload_id):
        if request.mimetype != OFFSET_OCTET_STREAM:
            raise errors.UploadContentType()
        offset = _header_int("Upload-Offset")
        uploads = uploads_of(db)
        upload = _receive(uploads, uploads.find(upload_id), offset)
        return Response(status=204, headers={"Upload-Offset": str(upload.received), **_expiry(upload)})

    @bp.route("/<db>/_uploads/<upload_id>", methods=["DELETE"])
    def terminate(db, upload_id):
        uploads = uploads_of(db)
        uploads.cancel(uploads.find(upload_id))
        return Response(status=204)

    return bp


def _receive(uploads: RevisionUploads, upload: Upload, offset: int) -> Upload:
    upload, _written = uploads.receive(upload, offset, _pieces(), announced=request.content_length)
    return upload


def _pieces() -> Iterator[bytes]:
    """The body as it arrives; a client that goes away mid-body ends it (what came is kept)."""
    stream = request.stream
    while True:
        try:
            piece = stream.read(READ_BYTES)
        except UnreadableBody:
            return
        if not piece:
            return
        yield piece


def _max_bytes() -> int:
    return current_app.config.get("MAX_CONTENT_LENGTH") or 64 * 1024 * 1024


def _header_int(name: str) -> int:
    value = request.headers.get(name, "")
    if not value.isdigit() or len(value) > 18:
        raise errors.BadRequest(f"{name} must be a whole number of bytes.")
    return int(value)


def _metadata(header: str) -> dict[str, str]:
    """tus's Upload-Metadata: comma-separated `key base64(value)` pairs."""
    found = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, encoded = pair.partition(" ")
        try:
            found[key] = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise errors.BadRequest(f"Upload-Metadata {key!r} is not base64 of UTF-8 text.") from None
    return found


def _expiry(upload: Upload) -> dict[str, str]:
    return {"Upload-Expires": format_datetime(upload.expires_at.astimezone(dt.timezone.utc), usegmt=True)}
