"""The worker `python -m server serve` runs: gunicorn's threaded worker (gthread), except that a
request reaches a thread only once it has arrived whole.

Why. In gunicorn's gthread worker (27.0.1, pinned) the event loop waits for a connection's first
bytes, then hands the connection to a thread, which reads the rest of the head and the
application reads the body, both from a blocking socket without a timeout. A phone on a 2G link
(or anyone) sending its request a byte a second holds a thread for as long as it likes; with as
many such clients as threads, every other request waits. Two more places where a client could
stall a worker: a connection closed after a response lingers in the event loop's own thread for up
to 2 s (`util.close_graceful`) when the client does not close its side, blocking every other
connection of the worker meanwhile; and a thread writing a response to a client that stopped
reading blocks without end.

What this worker changes, and nothing else:

* Reading. The event loop reads each request, head and body, without blocking, as its bytes
  arrive; gunicorn's own request parser (`gunicorn.http.message.Request`) reads the head when it
  is complete, which says how long the body is (a chunked body's end is found with gunicorn's
  incremental parser, `gunicorn.asgi.parser.PythonProtocol`). The thread then gets the parsed
  request and a body that is already in memory (in a temporary file past `SPILL_BYTES`): it never
  waits for the client. The head is parsed once, as before, by the event loop's thread instead of
  the worker thread. A body larger
  than the application accepts (`max_body`) is not read: the request goes to a thread as soon as
  its head is complete, marked "close after", so the application answers 413 at once.
  `Expect: 100-continue` is answered by the event loop when it starts waiting for the body.
* Slow requests are dropped, not served: a client that sends nothing of its request for
  `client_timeout` seconds, or whose request has not arrived after `client_timeout` seconds plus
  one second per `min_rate` bytes received, is disconnected. Neither costs a thread meanwhile; the
  limits only bound how long it holds a socket.
* Resumable uploads. A request carrying a resumable upload's bytes (tus's
  `application/offset+octet-stream`) whose client goes away or stalls mid-body is not dropped: it
  goes to a thread with the bytes that came, its body ending there, so the application keeps them
  and the client resumes from there on a slow link that cuts.
* Closing. A connection closed after a response is half-closed and drained by the event loop (up
  to 2 s and 64 KiB, as gunicorn does) without blocking it.
* Writing. Every connection gets SO_SNDTIMEO (and SO_RCVTIMEO) of `client_timeout`: a write that
  makes no progress for that long fails, and the thread moves on (a slow but moving reader is
  never cut off; a live `_changes` feed writes a heartbeat into an idle socket without waiting).
  `serve` turns gunicorn's sendfile off with this worker: socket.sendfile waits past SO_SNDTIMEO.

Kept-alive connections, live feeds, graceful stops and everything else are gunicorn's own. HTTPS,
HTTP/2, the PROXY protocol and uwsgi are not used by Paicha: with any of them configured this
worker behaves exactly like gthread.
"""
from __future__ import annotations

import errno
import io
import selectors
import socket
import struct
import tempfile
import time
from functools import partial

from gunicorn.asgi.parser import PythonProtocol
from gunicorn.http.body import ChunkedReader, LengthReader
from gunicorn.http.errors import LimitRequestHeaders, NoMoreData
from gunicorn.http.parser import RequestParser
from gunicorn.http.unreader import SocketUnreader, Unreader
from gunicorn.workers.gthread import ThreadWorker

SPILL_BYTES = 1024 * 1024  # a body beyond this waits in a temporary file, not in memory
RECV_BYTES = 256 * 1024
RECVS_PER_TURN = 16  # then the loop serves other connections before reading more of this one
LINGER_S = 2.0  # as gunicorn's util.close_graceful
LINGER_DRAIN_BYTES = 64 * 1024
SWEEP_EVERY_S = 0.5
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
UPLOAD_BYTES = "application/offset+octet-stream"  # a resumable upload's request body (tus)
# The chunked body of a request, framed by gunicorn's incremental parser after a head of its own.
_CHUNKED_HEAD = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"


class _Buffer:
    """The bytes of one request as they arrive: in memory, then in a temporary file."""

    __slots__ = ("mem", "file", "size", "spill")

    def __init__(self):
        self.mem = bytearray()
        self.file = None
        self.size = 0
        self.spill = False  # set once the head is parsed: the head always stays in memory

    def append(self, data: bytes) -> None:
        if self.file is None and self.spill and self.size + len(data) > SPILL_BYTES:
            self.file = tempfile.TemporaryFile(prefix="paicha-body-")
        if self.file is None:
            self.mem += data
        else:
            self.file.seek(0, 2)
            self.file.write(data)
        self.size += len(data)

    def read(self, offset: int, n: int) -> bytes:
        n = min(n, self.size - offset)
        if n <= 0:
            return b""
        inmem = len(self.mem)
        if offset + n <= inmem:
            return bytes(self.mem[offset:offset + n])
        head = bytes(self.mem[offset:inmem]) if offset < inmem else b""
        self.file.seek(max(offset - inmem, 0))
        return head + self.file.read(n - len(head))

    def split(self, end: int) -> bytes:
        """Keeps the first `end` bytes; returns the rest (the start of a pipelined request)."""
        rest = self.read(end, self.size - end)
        inmem = len(self.mem)
        if end < inmem:
            del self.mem[end:]
            if self.file is not None:
                self.file.close()
                self.file = None
        elif self.file is not None:
            self.file.truncate(end - inmem)
        self.size = end
        return rest

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        self.mem = bytearray()
        self.size = 0


class _BufferUnreader(Unreader):
    """gunicorn's unreader over a buffered request. Past its end (only a request gunicorn's parser
    frames differently from the buffering would get there), the socket, whose SO_RCVTIMEO bounds
    the wait; `sock` is None while the event loop parses the head (the end is then "no more
    data yet")."""

    def __init__(self, buffer: _Buffer):
        super().__init__()
        self.buffer = buffer
        self.pos = 0
        self.sock = None

    def chunk(self, size_hint=None):
        data = self.buffer.read(self.pos, min(max(size_hint or 0, 65536), SocketUnreader.max_body_chunk))
        self.pos += len(data)
        if data or self.sock is None:
            return data
        try:
            return self.sock.recv(min(max(size_hint or 0, 8192), SocketUnreader.max_body_chunk))
        except BlockingIOError:  # SO_RCVTIMEO: the client sent nothing for client_timeout
            return b""

    @property
    def consumed(self) -> int:
        """Bytes of the buffer the parser has used (what it read, less what it gave back)."""
        return self.pos - len(self.buf.getvalue())


class _ReadyParser(RequestParser):
    """The connection's parser, as gthread uses it, handing out the request the event loop read."""

    def __init__(self, cfg, sock, client):
        super().__init__(cfg, sock, client)
        self.ready = None  # a Request, or the exception its head raised

    def __next__(self):
        ready, self.ready = self.ready, None
        if ready is None:
            raise StopIteration()
        if isinstance(ready, BaseException):
            raise ready  # gthread answers it (400, 431, ...) as it would have
        self.req_count += 1
        self.mesg = ready
        return ready

    next = __next__


class _Reading:
    """A connection whose request is arriving."""

    __slots__ = ("buffer", "started", "last", "registered", "scan", "unreader", "req", "head_end", "end",
                 "chunks", "chunks_fed", "body")

    def __init__(self, now: float):
        self.buffer = _Buffer()
        self.started = now
        self.last = now
        self.registered = False
        self.scan = 0  # where to look for the end of the head next
        self.unreader = None
        self.req = None
        self.head_end = 0
        self.end = None  # the request's last byte + 1, once known
        self.chunks = None  # a chunked body's framing parser
        self.chunks_fed = 0
        self.body = 0  # a chunked body's bytes so far

    def count_body(self, chunk: bytes) -> None:
        self.body += len(chunk)


def _timeval(seconds: float) -> bytes:
    return struct.pack("ll", int(seconds), int((seconds % 1) * 1_000_000))


class BufferingThreadWorker(ThreadWorker):
    """gthread, reading every request whole in the event loop before a thread takes it."""

    # Set by `python -m server serve` before gunicorn forks the workers.
    client_timeout = 30.0
    min_rate = 256  # bytes per second, averaged over the request, after client_timeout
    max_body = 64 * 1024 * 1024  # the application's MAX_CONTENT_LENGTH

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cfg = self.cfg
        self.buffering = not (cfg.is_ssl or cfg.http2_cleartext != "off"
                              or cfg.proxy_protocol != "off" or getattr(cfg, "protocol", "http") != "http")
        line = cfg.limit_request_line if cfg.limit_request_line > 0 else 1024 * 1024
        self.max_head = line + cfg.limit_request_fields * ((cfg.limit_request_field_size or 8190) + 2) + 8
        self.reading = {}  # conn -> _Reading
        self.lingering = {}  # sock -> (deadline, drained)
        self.last_sweep = 0.0

    # -- reading a request ---------------------------------------------------------------------

    def enqueue_req(self, conn):
        """gthread calls this when a connection has (or is about to have) a request: a new
        connection, a kept-alive one turning readable, or one with bytes already read ahead."""
        if not self.buffering:
            return super().enqueue_req(conn)
        seed = b""
        if conn.parser is None:
            try:
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(self.client_timeout))
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(self.client_timeout))
            except OSError:
                pass
            conn.parser = _ReadyParser(self.cfg, conn.sock, conn.client)
        else:
            seed = conn.parser.unreader.take_buffered()
        conn.sock.setblocking(False)
        st = _Reading(time.monotonic())
        self.reading[conn] = st
        if seed and self._received(conn, st, seed):
            return
        self._read(conn, st)

    def _on_readable(self, conn, _sock):
        st = self.reading.get(conn)
        if st is not None:
            self._read(conn, st)

    def _read(self, conn, st):
        for _ in range(RECVS_PER_TURN):
            want = RECV_BYTES if st.end is None else max(min(RECV_BYTES, st.end - st.buffer.size), 1)
            try:
                data = conn.sock.recv(want)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self._ended(conn, st)
                return
            if not data:  # the client went away (between requests, that is how a connection ends)
                self._ended(conn, st)
                return
            if self._received(conn, st, data):
                return
        if not st.registered:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))
            st.registered = True

    def _received(self, conn, st, data) -> bool:
        """Takes more bytes of the request; True once it went to a thread."""
        st.last = time.monotonic()
        buffer = st.buffer
        buffer.append(data)
        if st.req is None:
            return self._head(conn, st, data)
        if st.chunks is not None:
            return self._chunked(conn, st)
        if buffer.size >= st.end:
            return self._dispatch(conn, st, st.req)
        return False

    def _head(self, conn, st, data) -> bool:
        buffer = st.buffer
        mem = buffer.mem
        ended = mem.find(b"\r\n\r\n", st.scan) >= 0
        if not ended:
            st.scan = max(len(mem) - 3, 0)
        # A bare LF never ends a head the parser accepts: let it say so (400) now.
        bare_lf = not ended and data.count(b"\n") != data.count(b"\r\n")
        if not (ended or bare_lf or buffer.size > self.max_head):
            return False
        unreader = _BufferUnreader(buffer)
        try:
            req = RequestParser.mesg_class(self.cfg, unreader, conn.client, conn.parser.req_count + 1)
        except (NoMoreData, StopIteration):
            if buffer.size > self.max_head:
                return self._dispatch(conn, st, LimitRequestHeaders("max buffer headers"))
            return False
        except Exception as exc:  # noqa: BLE001 - a malformed head: gthread answers it
            return self._dispatch(conn, st, exc)
        st.unreader = unreader
        st.req = req
        head_end = st.head_end = unreader.consumed
        reader = req.body.reader
        buffer.spill = True
        if isinstance(reader, LengthReader):
            if reader.length > self.max_body:
                req.force_close()  # the body stays unread: the connection cannot be reused
                return self._dispatch(conn, st, req)
            st.end = head_end + reader.length
            if buffer.size >= st.end:
                return self._dispatch(conn, st, req)
        elif isinstance(reader, ChunkedReader):
            st.chunks = PythonProtocol(on_body=st.count_body, limit_request_line=0,
                                       limit_request_fields=self.cfg.limit_request_fields,
                                       limit_request_field_size=self.cfg.limit_request_field_size)
            st.chunks.feed(_CHUNKED_HEAD)
            st.chunks_fed = head_end
            if self._chunked(conn, st):
                return True
        else:
            return self._dispatch(conn, st, req)
        if req._expected_100_continue:
            # The client waits for this before it sends the body; the thread must not send another.
            req._expected_100_continue = False
            try:
                conn.sock.send(CONTINUE)
            except OSError:
                pass
        return False

    def _chunked(self, conn, st) -> bool:
        buffer = st.buffer
        data = buffer.read(st.chunks_fed, buffer.size - st.chunks_fed)
        st.chunks_fed = buffer.size
        try:
            st.chunks.feed(data)
        except Exception:  # noqa: BLE001 - malformed framing: the thread's parser answers it
            st.req.force_close()
            return self._dispatch(conn, st, st.req)
        if st.chunks.is_complete:
            st.end = buffer.size - len(st.chunks.remaining())
            return self._dispatch(conn, st, st.req)
        if st.body > self.max_body:  # the application refuses it (413) without reading on
            st.req.force_close()
            return self._dispatch(conn, st, st.req)
        return False

    def _dispatch(self, conn, st, ready) -> bool:
        del self.reading[conn]
        if st.registered:
            self.poller.unregister(conn.sock)
        carry = b""
        if st.end is not None and st.buffer.size > st.end:
            carry = st.buffer.split(st.end)
        unreader = st.unreader or _BufferUnreader(st.buffer)
        # What the head's parser read past the head: the body is read from the buffer again, and
        # bytes past the request (carry) must not stay here too.
        unreader.buf = io.BytesIO()
        unreader.pos = st.head_end
        unreader.sock = conn.sock
        conn.parser.unreader = unreader
        conn.parser.ready = ready
        conn.paicha_done = (st.buffer, carry)
        conn.data_ready = True  # gthread must not wait for data again
        super().enqueue_req(conn)
        return True

    def _ended(self, conn, st):
        """The client stopped sending mid-request: dropped, unless what arrived is worth keeping."""
        if _keeps_what_arrived(st):
            self._deliver_partial(conn, st)
        else:
            self._drop(conn)

    def _deliver_partial(self, conn, st):
        """A resumable upload's bytes go to the application however its request ends (tus: the
        server keeps what arrived, and the client resumes from there): the request as far as it
        came, its body ending early, answered to a connection that then closes."""
        st.end = st.buffer.size
        st.req.force_close()
        self._dispatch(conn, st, st.req)
        conn.parser.unreader.sock = None  # past the bytes that came, the body has ended
        self.log.info("Kept %d bytes of an upload its client stopped sending (%s)",
                      st.buffer.size - st.head_end, _peer(conn))

    def _drop(self, conn):
        st = self.reading.pop(conn)
        if st.registered:
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
        st.buffer.close()
        self.nr_conns -= 1
        conn.close()

    # -- in the thread -------------------------------------------------------------------------

    def handle(self, conn):
        done = conn.__dict__.pop("paicha_done", None)
        try:
            keep = super().handle(conn)
        finally:
            if done is not None:
                done[0].close()
        if keep and done is not None and done[1]:
            # Pipelined bytes: gthread sees them in the unreader and has them read at once.
            conn.parser.unreader.unread(done[1])
        return keep

    def handle_request(self, req, conn):
        try:
            return super().handle_request(req, conn)
        except BlockingIOError as exc:
            # SO_SNDTIMEO: the client took nothing of the response for client_timeout seconds.
            self.log.info("Dropped %s: it took nothing of its response for %.0f s",
                          _peer(conn), self.client_timeout)
            raise ConnectionResetError(errno.ECONNRESET, "client stopped reading") from exc

    # -- closing -------------------------------------------------------------------------------

    def finish_request(self, conn, fs):
        """gthread closes a connection it will not keep with util.close_graceful, which waits up to
        2 s for the client in this (the event loop's) thread: here the event loop drains it."""
        try:
            keep = not fs.cancelled() and fs.result()
        except Exception:  # noqa: BLE001 - as gthread: the connection is closed
            keep = False
        if keep:
            return super().finish_request(conn, fs)
        self.nr_conns -= 1
        sock = conn.sock
        try:
            sock.setblocking(False)
            sock.shutdown(socket.SHUT_WR)
            self.poller.register(sock, selectors.EVENT_READ, self._on_lingering)
        except (OSError, ValueError, KeyError):
            conn.close()
            return
        self.lingering[sock] = [time.monotonic() + LINGER_S, 0]

    def _on_lingering(self, sock):
        entry = self.lingering.get(sock)
        if entry is None:
            return
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        entry[1] += len(data)
        if not data or entry[1] >= LINGER_DRAIN_BYTES:
            self._close_lingering(sock)

    def _close_lingering(self, sock):
        del self.lingering[sock]
        try:
            self.poller.unregister(sock)
        except (KeyError, ValueError, OSError):
            pass
        try:
            sock.close()
        except OSError:
            pass

    # -- the clock -----------------------------------------------------------------------------

    def murder_pending(self):
        """Called by gthread's loop at every turn (at least once a second)."""
        super().murder_pending()
        now = time.monotonic()
        if now - self.last_sweep < SWEEP_EVERY_S:
            return
        self.last_sweep = now
        for sock in [s for s, (deadline, _) in self.lingering.items() if deadline <= now]:
            self._close_lingering(sock)
        slow = [conn for conn, st in self.reading.items()
                if now - st.last > self.client_timeout
                or now - st.started > self.client_timeout + st.buffer.size / self.min_rate]
        # Connections that sent nothing at all (a browser's spare connection) go without a word.
        partial_ones = [conn for conn in slow if self.reading[conn].buffer.size]
        for conn in slow:
            self._ended(conn, self.reading[conn])
        if partial_ones:
            self.log.info("Dropped %d client(s) too slow sending their request (%s%s)", len(partial_ones),
                          ", ".join(_peer(c) for c in partial_ones[:5]), ", ..." if len(partial_ones) > 5 else "")


def _keeps_what_arrived(st) -> bool:
    """A resumable upload's bytes (tus: `application/offset+octet-stream`) with a known length,
    its head read."""
    if st.req is None or st.end is None or st.chunks is not None:
        return False
    return any(name == "CONTENT-TYPE" and value.split(";")[0].strip().lower() == UPLOAD_BYTES
               for name, value in st.req.headers)


def _peer(conn) -> str:
    client = conn.client
    if isinstance(client, tuple) and len(client) >= 2:
        return f"{client[0]}:{client[1]}"
    return str(client)
