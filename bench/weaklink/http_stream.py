"""Reading HTTP/1.1 off a byte stream as it crosses the link, to count requests and say what they were.

A keep-alive connection carries several requests one after another, so the parser follows each
message's framing (Content-Length, chunked, or a response read until the connection closes) to find
where the next one starts. It never changes the bytes; a stream it cannot follow is only counted.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

HEAD_LIMIT = 64 * 1024
KEPT_HEADERS = ("accept-encoding", "content-encoding", "content-type", "content-length", "transfer-encoding",
                "connection")


@dataclass
class Exchange:
    """One request and its response, as seen on the link."""
    connection: int
    method: str
    target: str
    started: float = field(default_factory=time.monotonic)
    request_headers: dict = field(default_factory=dict)
    request_bytes: int = 0
    status: int | None = None
    response_headers: dict = field(default_factory=dict)
    response_bytes: int = 0
    finished: float | None = None

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def request_body_length(self) -> int | None:
        value = self.request_headers.get("content-length")
        return int(value) if value and value.isdigit() else None

    def describe(self) -> dict:
        return {"connection": self.connection, "method": self.method, "path": self.path,
                "query": self.target.partition("?")[2][:200], "status": self.status,
                "request_bytes": self.request_bytes, "response_bytes": self.response_bytes,
                "accept_encoding": self.request_headers.get("accept-encoding"),
                "request_content_encoding": self.request_headers.get("content-encoding"),
                "response_content_encoding": self.response_headers.get("content-encoding"),
                "seconds": round(self.finished - self.started, 3) if self.finished else None}


class _Framing:
    NONE, LENGTH, CHUNKED, UNTIL_CLOSE = range(4)


class MessageStream:
    """Splits one direction of a connection into messages. `on_head(start_line, headers)` is called at
    each message's head and returns its body's framing: (kind, length); `on_bytes(n)` for every byte
    of the current message (head included); `on_end()` when it is complete."""

    def __init__(self, on_head: Callable[[str, dict], tuple[int, int]], on_bytes: Callable[[int], None],
                 on_end: Callable[[], None]):
        self.on_head, self.on_bytes, self.on_end = on_head, on_bytes, on_end
        self.lost = False  # could not follow the stream: the rest is only counted
        self._buffer = b""
        self._state = "head"
        self._remaining = 0  # body bytes (or chunk bytes) still to skip

    def feed(self, data: bytes) -> None:
        if self.lost:
            return
        data = self._buffer + data
        self._buffer = b""
        position = 0
        try:
            while position < len(data):
                position = self._step(data, position)
                if position is None:
                    return
        except (ValueError, IndexError):
            self.lost = True

    def close(self) -> None:
        """The connection ended: a body read until the close is complete."""
        if self._state == "until_close":
            self._state = "head"
            self.on_end()

    def _keep(self, data: bytes, position: int) -> None:
        rest = data[position:]
        if len(rest) > HEAD_LIMIT:
            raise ValueError("head or chunk line too long")
        self._buffer = rest

    def _step(self, data: bytes, position: int) -> int | None:
        if self._state == "head":
            end = data.find(b"\r\n\r\n", position)
            if end < 0:
                self._keep(data, position)
                return None
            head = data[position:end].decode("latin-1")
            if not head.strip():  # a stray CRLF between messages
                self.on_bytes(end + 4 - position)
                return end + 4
            start_line, *lines = head.split("\r\n")
            headers = {}
            for line in lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            kind, length = self.on_head(start_line, headers)
            self.on_bytes(end + 4 - position)
            if kind == _Framing.LENGTH and length > 0:
                self._state, self._remaining = "body", length
            elif kind == _Framing.CHUNKED:
                self._state = "chunk_size"
            elif kind == _Framing.UNTIL_CLOSE:
                self._state = "until_close"
            else:
                self.on_end()
            return end + 4
        if self._state in ("body", "chunk_data"):
            take = min(self._remaining, len(data) - position)
            self._remaining -= take
            self.on_bytes(take)
            if self._remaining == 0:
                if self._state == "body":
                    self._state = "head"
                    self.on_end()
                else:
                    self._state = "chunk_size"
            return position + take
        if self._state == "until_close":
            self.on_bytes(len(data) - position)
            return len(data)
        # chunk_size, chunk_end (the CRLF after a chunk's data is read with the next size line), trailers
        end = data.find(b"\r\n", position)
        if end < 0:
            self._keep(data, position)
            return None
        line = data[position:end]
        self.on_bytes(end + 2 - position)
        if self._state == "trailers":
            if not line:
                self._state = "head"
                self.on_end()
            return end + 2
        if not line:  # the CRLF that ends a chunk's data
            return end + 2
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            self._state = "trailers"
        else:
            self._state, self._remaining = "chunk_data", size
        return end + 2


def request_framing(headers: dict) -> tuple[int, int]:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return _Framing.CHUNKED, 0
    length = int(headers.get("content-length") or 0)
    return (_Framing.LENGTH, length) if length else (_Framing.NONE, 0)


def response_framing(method: str, status: int, headers: dict) -> tuple[int, int]:
    if method == "HEAD" or status < 200 or status in (204, 304):
        return _Framing.NONE, 0
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return _Framing.CHUNKED, 0
    if "content-length" in headers:
        length = int(headers["content-length"])
        return (_Framing.LENGTH, length) if length else (_Framing.NONE, 0)
    return _Framing.UNTIL_CLOSE, 0


class ConnectionWatch:
    """Both directions of one connection: each request the client sends becomes an Exchange (passed to
    `on_request` at its head), and each response is matched to the oldest request still unanswered."""

    def __init__(self, connection: int, on_request: Callable[[Exchange], None]):
        self.connection = connection
        self.on_request = on_request
        self._sent: list[Exchange] = []      # requests whose head has crossed, oldest first
        self._unanswered: list[Exchange] = []
        self._responding: Exchange | None = None
        self._interim = False
        self.up = MessageStream(self._request_head, self._request_bytes, lambda: None)
        self.down = MessageStream(self._response_head, self._response_bytes, self._response_end)

    def _request_head(self, start_line: str, headers: dict) -> tuple[int, int]:
        method, target, *_ = start_line.split(" ")
        exchange = Exchange(self.connection, method, target,
                            request_headers={k: v for k, v in headers.items() if k in KEPT_HEADERS})
        self._sent.append(exchange)
        self._unanswered.append(exchange)
        self.on_request(exchange)
        return request_framing(headers)

    def _request_bytes(self, n: int) -> None:
        if self._sent:
            self._sent[-1].request_bytes += n

    def _response_head(self, start_line: str, headers: dict) -> tuple[int, int]:
        status = int(start_line.split(" ", 2)[1])
        if status < 200:  # 100 Continue: the final answer is still to come
            self._interim = True
            return _Framing.NONE, 0
        self._interim = False
        self._responding = self._unanswered.pop(0) if self._unanswered else None
        if self._responding:
            self._responding.status = status
            self._responding.response_headers = {k: v for k, v in headers.items() if k in KEPT_HEADERS}
        method = self._responding.method if self._responding else "GET"
        return response_framing(method, status, headers)

    def _response_bytes(self, n: int) -> None:
        target = self._responding or (self._unanswered[0] if self._unanswered else None)
        if target:
            target.response_bytes += n

    def _response_end(self) -> None:
        if self._responding and not self._interim:
            self._responding.finished = time.monotonic()
            self._responding = None
