"""Request bodies sent compressed (`Content-Encoding: gzip` or `deflate`), as a phone on a slow link
may send its documents: every interface (CouchDB, `/api/v1`, the ledger) takes them as if sent
plain, under the same body-size limit.

The body is decompressed as a view reads it, not before: a view has checked who is asking by then,
so nobody unauthenticated makes the server inflate anything. The limit applies to the decompressed
body: a small compressed body that would grow past it is refused with 413 as soon as it does,
without inflating the rest. Brotli is not taken for bodies: its output for a given input is
unbounded in a way that cannot be cut off piece by piece as cheaply.
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
    environ = request.environ
    environ["wsgi.input"] = InflatingInput(get_input_stream(environ, max_content_length=limit),
                                           DECODERS[encoding], encoding, limit)
    # Its length is known once read: the body ends where the decompressed data does.
    environ.pop("CONTENT_LENGTH", None)
    environ.pop("HTTP_CONTENT_ENCODING", None)
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["wsgi.input_terminated"] = True


class InflatingInput(io.RawIOBase):
    """A compressed request body read as its decompressed bytes, inflated piece by piece as read.
    It inflates one byte ahead of what is asked, so that a body growing past the limit is told
    even to a reader that asks for no more than the limit (werkzeug's)."""

    def __init__(self, stream, wbits: int, encoding: str, limit: int | None):
        self._stream = stream
        self._inflater = zlib.decompressobj(wbits)
        self._encoding = encoding
        self._limit = limit
        self._inflated = 0
        self._pending = b""  # compressed bytes read but not yet inflated
        self._out = b""  # inflated bytes not yet given
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            while len(self._out) <= len(buffer) and not self._ended:
                self._inflate(len(buffer) + 1 - len(self._out))
        except zlib.error as exc:
            raise PaichaError("bad_encoding", f"The {self._encoding} request body cannot be decompressed ({exc}).",
                              encoding=self._encoding) from None
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _inflate(self, want: int) -> None:
        inflater = self._inflater
        if inflater.eof:
            self._ended = True
            return
        if not self._pending:
            self._pending = self._stream.read(READ_SIZE)
            if not self._pending:
                self._keep(inflater.flush())
                if not inflater.eof:
                    raise PaichaError("bad_encoding", f"The {self._encoding} request body ends before its "
                                      "compressed data does.", encoding=self._encoding)
                self._ended = True
                return
        room = want if self._limit is None else max(1, min(want, self._limit - self._inflated + 1))
        self._keep(inflater.decompress(self._pending, room))
        self._pending = b"" if inflater.eof else inflater.unconsumed_tail

    def _keep(self, chunk: bytes) -> None:
        self._inflated += len(chunk)
        if self._limit is not None and self._inflated > self._limit:
            raise PaichaError("body_too_large", f"The decompressed request body is larger than {self._limit} bytes.",
                              limit=self._limit)
        self._out += chunk
