"""Request bodies sent compressed (`Content-Encoding: gzip` or `deflate`), as a phone on a slow link
may send its documents: decompressed before any view reads them, so every interface (CouchDB,
`/api/v1`, the ledger) takes them as if sent plain, under the same body-size limit.

The limit applies to the decompressed body: a small compressed body that would grow past it is
refused with 413 as soon as it does, without inflating the rest. Brotli is not taken for bodies:
its output for a given input is unbounded in a way that cannot be cut off piece by piece as cheaply.
"""
from __future__ import annotations

import io
import zlib

from flask import Flask, current_app, request
from werkzeug.wsgi import get_input_stream

from schemas.errors import PaichaError

# HTTP's names: "deflate" is the zlib format (RFC 9110); wbits 32+ makes zlib read gzip or zlib.
DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
ACCEPTED = "gzip, deflate"
READ_SIZE = 64 * 1024


def init_app(app: Flask) -> None:
    app.before_request(decode_request_body)


def decode_request_body() -> None:
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return
    if encoding not in DECODERS:
        raise PaichaError("unsupported_encoding",
                          f"Content-Encoding {encoding} is not supported: send {ACCEPTED}, or no encoding.",
                          encoding=encoding, accepted=ACCEPTED)
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    body = _inflate(get_input_stream(request.environ, max_content_length=limit), DECODERS[encoding],
                    encoding, limit)
    environ = request.environ
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_CONTENT_ENCODING", None)
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["wsgi.input_terminated"] = False


def _inflate(stream, wbits: int, encoding: str, limit: int | None) -> bytes:
    inflater = zlib.decompressobj(wbits)
    out: list[bytes] = []
    size = 0

    def keep(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)
        out.append(chunk)
        if limit is not None and size > limit:
            raise PaichaError("body_too_large", f"The decompressed request body is larger than {limit} bytes.",
                              limit=limit)

    try:
        while not inflater.eof:
            data = stream.read(READ_SIZE)
            if not data:
                break
            while data:
                # At most up to the limit (and one byte past it, to know it was passed).
                keep(inflater.decompress(data, (limit - size + 1) if limit is not None else 0))
                data = inflater.unconsumed_tail
        keep(inflater.flush())
    except zlib.error as exc:
        raise PaichaError("bad_encoding", f"The {encoding} request body cannot be decompressed ({exc}).",
                          encoding=encoding) from None
    if not inflater.eof:
        raise PaichaError("bad_encoding", f"The {encoding} request body ends before its compressed data does.",
                          encoding=encoding)
    return b"".join(out)
