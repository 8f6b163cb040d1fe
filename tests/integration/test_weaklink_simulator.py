"""The benchmark's link simulator (bench/weaklink) itself: bytes and requests counted exactly, delay
and bandwidth applied (within a generous tolerance: a shared machine), a cut resets open connections
and refuses new ones for its outage, and the HTTP reader follows keep-alive streams however they are
split. Not a measurement: a few seconds in all."""
from __future__ import annotations

import http.server
import socket
import threading
import time

import pytest

from bench.weaklink import Cut, LinkProfile, SimulatedLink
from bench.weaklink.http_stream import ConnectionWatch

FAST = LinkProfile(up_bandwidth=None, down_bandwidth=None, delay_s=0.0, setup_round_trips=0)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the servers under test

    def do_GET(self):  # GET /bytes/N: N bytes
        body = b"y" * int(self.path.rsplit("/", 1)[1])
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        got = len(self.rfile.read(length))
        body = str(got).encode()
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def target():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def connect(link: SimulatedLink) -> socket.socket:
    return socket.create_connection(("127.0.0.1", link.proxy.port), timeout=5)


def request(path: str, method: str = "GET", body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n"
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


def read_response(sock: socket.socket) -> bytes:
    """One whole response (Content-Length framed), as received."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        body += chunk
    return head + b"\r\n\r\n" + body


def test_bytes_and_requests_are_counted_exactly(target):
    with SimulatedLink(target, FAST) as link:
        sent = received = 0
        with connect(link) as sock:  # three requests on one kept-alive connection
            for message in (request("/bytes/1000"), request("/upload", "POST", b"x" * 30_000),
                            request("/bytes/70000")):
                sock.sendall(message)
                sent += len(message)
                received += len(read_response(sock))
        with connect(link) as sock:
            sock.sendall(request("/bytes/5"))
            sent += len(request("/bytes/5"))
            received += len(read_response(sock))
        time.sleep(0.1)
        counters = link.counters()
    assert counters["bytes_up"] == sent
    assert counters["bytes_down"] == received
    assert counters["requests"] == 4 and counters["connections"] == 2
    seen = [(e["method"], e["path"], e["status"], e["connection"]) for e in counters["exchanges"]]
    assert seen == [("GET", "/bytes/1000", 200, 1), ("POST", "/upload", 201, 1), ("GET", "/bytes/70000", 200, 1),
                    ("GET", "/bytes/5", 200, 2)]
    assert sum(e["request_bytes"] for e in counters["exchanges"]) == sent
    assert sum(e["response_bytes"] for e in counters["exchanges"]) == received
    assert counters["exchanges"][0]["accept_encoding"] == "gzip"


def test_delay_and_bandwidth_are_applied(target):
    profile = LinkProfile(up_bandwidth=16_000, down_bandwidth=16_000, delay_s=0.2, setup_round_trips=1)
    with SimulatedLink(target, profile) as link:
        with connect(link) as sock:
            start = time.monotonic()
            sock.sendall(request("/bytes/10"))
            read_response(sock)
            first = time.monotonic() - start  # handshake round trip, then up and down: 4 delays
            start = time.monotonic()
            sock.sendall(request("/bytes/16000"))
            read_response(sock)
            download = time.monotonic() - start  # 2 delays, then 16 000 bytes at 16 000 B/s
    assert 0.75 <= first <= 1.3, first
    # A sleep per segment instead of a pipe would take 11 segments x (delay + transmission) = 3.2 s.
    assert 1.35 <= download <= 2.1, download


def test_a_cut_resets_connections_and_refuses_new_ones_for_its_outage(target):
    with SimulatedLink(target, FAST) as link:
        kept = connect(link)
        kept.sendall(request("/bytes/10"))
        read_response(kept)
        link.cut(1.0)
        cut_at = time.monotonic()
        with pytest.raises(ConnectionError):  # reset (or closed) under the waiting client
            kept.sendall(request("/bytes/10"))
            read_response(kept)
        kept.close()
        refused = 0
        while time.monotonic() - cut_at < 0.8:
            with pytest.raises(ConnectionError):  # accepted and reset at once
                with connect(link) as sock:
                    sock.sendall(request("/bytes/10"))
                    read_response(sock)
            refused += 1
            time.sleep(0.1)
        while time.monotonic() - cut_at < 1.05:
            time.sleep(0.05)
        with connect(link) as sock:  # the link is back
            sock.sendall(request("/bytes/10"))
            assert read_response(sock).endswith(b"y" * 10)
        counters = link.counters()
    assert counters["connections_refused"] >= refused >= 3
    assert len(counters["cuts"]) == 1 and counters["connections_reset"] >= 1


def test_a_cut_after_so_many_bytes_up(target):
    with SimulatedLink(target, FAST) as link:
        link.plan(Cut(outage_s=0.3, after_bytes_up=5000))
        with connect(link) as sock, pytest.raises(ConnectionError):
            sock.sendall(request("/upload", "POST", b"x" * 20_000))
            read_response(sock)
        time.sleep(0.1)
        assert link.counters()["bytes_up"] == 5000
        # Armed by a request: counted from when the upload starts, not before.
        link.plan(Cut(outage_s=0.3, after_bytes_up=8000, armed_by=lambda e: e.method == "POST"))
        time.sleep(0.35)
        with connect(link) as sock:
            for _ in range(3):
                sock.sendall(request("/bytes/10"))
                read_response(sock)
            up_before = link.counters()["bytes_up"]
            with pytest.raises(ConnectionError):
                sock.sendall(request("/upload", "POST", b"x" * 20_000))
                read_response(sock)
        time.sleep(0.1)
        counters = link.counters()
    assert 8000 < counters["bytes_up"] - up_before <= 8000 + 1460  # plus the segment that armed it
    assert [c["reason"] for c in counters["cuts"]] == ["after 5,000 bytes up", "after 8,000 bytes up"]


RESPONSES = (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
             b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
             b"4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\nTrailer: 1\r\n\r\n"
             b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"  # the answer to a HEAD: no body
             b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
REQUESTS = (b"GET /db/_changes?since=0 HTTP/1.1\r\nHost: h\r\n\r\n"
            b"POST /db/_bulk_get HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}\n\r\n0\r\n\r\n"
            b"HEAD /db/doc HTTP/1.1\r\n\r\n"
            b"PUT /db/doc HTTP/1.1\r\nContent-Length: 4\r\n\r\n{}\r\n")


@pytest.mark.parametrize("piece", [1, 3, 7, 64, 10_000])
def test_the_http_reader_follows_keep_alive_streams_split_anywhere(piece):
    seen = []
    watch = ConnectionWatch(1, seen.append)
    for stream, data in ((watch.up, REQUESTS), (watch.down, RESPONSES)):  # an answer never precedes its request
        for start in range(0, len(data), piece):
            stream.feed(data[start:start + piece])
    assert not watch.up.lost and not watch.down.lost
    assert [(e.method, e.path, e.status) for e in seen] == [
        ("GET", "/db/_changes", 200), ("POST", "/db/_bulk_get", 200), ("HEAD", "/db/doc", 200),
        ("PUT", "/db/doc", 201)]
    assert sum(e.request_bytes for e in seen) == len(REQUESTS)
    assert sum(e.response_bytes for e in seen) == len(RESPONSES)
    assert seen[1].response_headers["content-encoding"] == "gzip"
