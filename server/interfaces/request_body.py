"""A request body that cannot be read (a malformed chunk, a client gone mid-body) is the client's
fault: every interface answers it as its own 400, never as a server error.

The WSGI server raises its own exception types from `wsgi.input` (gunicorn's `InvalidChunkSize`,
`NoMoreData`, ...), which would otherwise reach the views as unexpected errors. Wrapping the input
stream turns any of them into werkzeug's BadRequest, which the CouchDB views, `/api/v1` and the
ledger each render in their own shape.
"""
from __future__ import annotations

from werkzeug.exceptions import BadRequest, HTTPException


class _CheckedInput:
    def __init__(self, stream):
        self._stream = stream

    def _read(self, method: str, *args):
        try:
            return getattr(self._stream, method)(*args)
        except HTTPException:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the server's parser raises
            raise BadRequest(f"The request body could not be read: {_describe(exc)}.") from None

    def read(self, *args):
        return self._read("read", *args)

    def readline(self, *args):
        return self._read("readline", *args)

    def readlines(self, *args):
        return self._read("readlines", *args)

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line


def _describe(exc: Exception) -> str:
    name = type(exc).__name__
    detail = str(exc)
    return f"{name} ({detail[:100]})" if detail else name


class CheckedRequestBody:
    """WSGI middleware: `wsgi.input` read errors become 400 Bad Request."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        stream = environ.get("wsgi.input")
        if stream is not None:
            environ["wsgi.input"] = _CheckedInput(stream)
        return self.wsgi_app(environ, start_response)
