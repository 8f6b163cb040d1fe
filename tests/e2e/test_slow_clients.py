"""Slow or stalled clients cannot starve the others (server/serving.py).

A village's evening rush on 2G: many phones send their requests a byte at a time, or send a head and
stall in the middle of the body, or take a response and never close. With gunicorn's plain gthread
worker 40 such clients held 40 of the 32 threads and every other request timed out. Here the real
server (default 32 threads) gets 40 slow clients, and 10 that never close after a "Connection:
close" answer, while normal clients (keep-alive sessions, as phones) GET /_up, GET a doc and PUT a
doc: every normal request succeeds with its usual latency, measured in the same test without the
slow clients. Then the slow clients finish their requests and get correct answers too: they were
kept waiting at no cost, not dropped. Other tests: what the buffering must keep (pipelining, chunked
bodies, Expect: 100-continue, a body spilled to disk, 413 and 400 at once), and the timeouts that
drop a client that stalls for good (WEB_CLIENT_TIMEOUT), sending or reading.

Only 127.0.0.1; every loop is bounded in count and time. SQLite only: nothing here is about stores.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import threading
import time
import uuid
from types import SimpleNamespace

import pytest
import requests

from support import REPO_ROOT
from support.server import REFERENCE_RUN, ServerProcess, free_port

pytestmark = [
    pytest.mark.parametrize("store_kind", ["sqlite"], indirect=True, scope="module"),
    pytest.mark.skipif(REFERENCE_RUN, reason="about Paicha's own serving"),
]

SLOW_HEADS = 20  # send their request a byte a second
SLOW_BODIES = 20  # send a head and 10 bytes of a 400-byte body, then a byte a second
LINGERERS = 10  # send a whole request with "Connection: close" and never read nor close
MAX_BODY = 4 * 1024 * 1024
DB = "slow_clients"


@pytest.fixture(scope="module")
def srv(store_kind, stores):
    s = ServerProcess(stores.new(store_kind), name=f"test_slow_clients-{store_kind}",
                      env={"WEB_CLIENT_TIMEOUT": "60", "PAICHA_MAX_BODY_BYTES": str(MAX_BODY)})
    s.start()
    r = requests.put(f"{s.url}/{DB}", auth=s.auth, timeout=10)
    assert r.status_code in (201, 202), r.text
    r = requests.put(f"{s.url}/{DB}/existing", json={"v": 1}, auth=s.auth, timeout=10)
    assert r.status_code == 201, r.text
    yield s
    s.close()


@pytest.fixture(scope="module")
def nginx(srv, tmp_path_factory):
    """nginx with docker/nginx/paicha.conf, its TLS lines replaced by a plain listen on a free port
    of 127.0.0.1, its upstream pointed at `srv`."""
    exe = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed (`make test` installs it when run as root)", pytrace=False)
        pytest.skip("nginx is not installed (`make test` installs it when run as root)")
    d = tmp_path_factory.mktemp("nginx")
    port = free_port()
    site = (REPO_ROOT / "docker" / "nginx" / "paicha.conf").read_text()
    assert "server 127.0.0.1:5984;" in site
    site = site.replace("server 127.0.0.1:5984;", f"server 127.0.0.1:{srv.port};")
    site = "\n".join(line for line in site.splitlines() if not line.strip().startswith("server 127.0.0.1:5986"))
    site = "\n".join(f"    listen 127.0.0.1:{port};" if line.strip().startswith("listen 443 ssl") else line
                     for line in site.splitlines() if not re.match(r"\s*(ssl_|listen \[::\]:443)", line))
    temp = " ".join(f"{kind}_temp_path {d / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (d / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {d / 'nginx.pid'};\nerror_log {d / 'error.log'} warn;\n"
        + "events { worker_connections 1024; }\n"
        + f"http {{\naccess_log off;\n{temp}\n{site}\n}}\n")
    check = subprocess.run([exe, "-t", "-p", str(d), "-c", str(d / "nginx.conf")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([exe, "-p", str(d), "-c", str(d / "nginx.conf"), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    target = SimpleNamespace(url=f"http://127.0.0.1:{port}", port=port, auth=srv.auth)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if requests.get(f"{target.url}/_up", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (d / "error.log").read_text()
            time.sleep(0.1)
        yield target
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def basic(srv) -> str:
    return "Basic " + base64.b64encode(f"{srv.auth[0]}:{srv.auth[1]}".encode()).decode()


def connect(srv, timeout: float = 10) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_responses(sock: socket.socket, n: int, timeout: float = 10) -> list[tuple[int, dict, bytes]]:
    """`n` HTTP/1.1 responses (Content-Length or chunked) in a row from a raw socket."""
    reader = _Responses(sock, timeout)
    return [reader.next() for _ in range(n)]


def read_response(sock: socket.socket, timeout: float = 10) -> tuple[int, dict, bytes]:
    return _Responses(sock, timeout).next()


class _Responses:
    def __init__(self, sock, timeout):
        sock.settimeout(timeout)
        self.sock = sock
        self.data = b""

    def more(self):
        chunk = self.sock.recv(65536)
        assert chunk, f"connection closed in the middle of a response: {self.data[:300]!r}"
        self.data += chunk

    def take(self, n: int) -> bytes:
        while len(self.data) < n:
            self.more()
        out, self.data = self.data[:n], self.data[n:]
        return out

    def line(self) -> bytes:
        while b"\r\n" not in self.data:
            self.more()
        out, _, self.data = self.data.partition(b"\r\n")
        return out

    def next(self) -> tuple[int, dict, bytes]:
        while b"\r\n\r\n" not in self.data:
            self.more()
        head, _, self.data = self.data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if status < 200:
            return status, headers, b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.line().split(b";")[0], 16)
                body += self.take(size)
                self.take(2)
                if size == 0:
                    return status, headers, body
        return status, headers, self.take(int(headers.get("content-length", "0")))


# -- the slow clients --------------------------------------------------------------------------------

class SlowClient(threading.Thread):
    """Sends `head + body[:sent_at_once]` right away, then the rest a byte a second until told to
    finish, then the rest at once, and reads the answer."""

    def __init__(self, srv, request: bytes, sent_at_once: int):
        super().__init__(daemon=True)
        self.srv, self.request, self.sent = srv, request, sent_at_once
        self.finish = threading.Event()
        self.sock = connect(srv)
        self.status = None
        self.body = b""
        self.closed_early = False
        self.error = None

    def run(self):
        try:
            self.sock.sendall(self.request[:self.sent])
            while self.sent < len(self.request) - 1 and not self.finish.wait(1.0):
                self.sock.sendall(self.request[self.sent:self.sent + 1])
                self.sent += 1
            self.finish.wait(60)
            self.sock.sendall(self.request[self.sent:])
            self.status, _, self.body = read_response(self.sock)
        except (AssertionError, OSError) as exc:
            self.error = repr(exc)
        finally:
            self.sock.close()


def slow_head(srv) -> SlowClient:
    return SlowClient(srv, b"GET /_up HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"p" * 100 + b"\r\n\r\n", 1)


def slow_body(srv) -> SlowClient:
    doc_id = f"slow-{uuid.uuid4().hex}"
    body = json.dumps({"slow": True, "pad": "x" * 370}).encode()
    head = (f"PUT /{DB}/{doc_id} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {basic(srv)}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    client = SlowClient(srv, head + body, len(head) + 10)
    client.doc_id = doc_id
    return client


def lingerer(srv) -> socket.socket:
    s = connect(srv)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b"GET /_up HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    return s


# -- the normal clients ------------------------------------------------------------------------------

def normal_traffic(srv, clients: int = 4, rounds: int = 6) -> list[tuple[str, float, object]]:
    """`clients` keep-alive sessions, each doing `rounds` x (GET /_up, GET a doc, PUT a doc) until
    one fails. Returns (what, seconds, status or exception) for every request."""
    results = []
    lock = threading.Lock()

    def one(i):
        with requests.Session() as session:
            session.auth = srv.auth
            for n in range(rounds):
                for what, call in (
                    ("GET /_up", lambda: session.get(f"{srv.url}/_up", timeout=10)),
                    ("GET doc", lambda: session.get(f"{srv.url}/{DB}/existing", timeout=10)),
                    ("PUT doc", lambda: session.put(f"{srv.url}/{DB}/n-{uuid.uuid4().hex}",
                                                    json={"client": i, "round": n}, timeout=10)),
                ):
                    started = time.monotonic()
                    try:
                        outcome = call().status_code
                    except requests.RequestException as exc:
                        outcome = exc
                    with lock:
                        results.append((what, time.monotonic() - started, outcome))
                    if isinstance(outcome, Exception):
                        return  # one timeout says enough, and keeps the test short

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def summary(results) -> str:
    times = sorted(t for _, t, _ in results)
    return (f"{len(results)} requests, median {statistics.median(times) * 1000:.0f} ms, "
            f"max {times[-1] * 1000:.0f} ms")


def assert_all_fine(results, label):
    failed = [(w, round(t, 2), o) for w, t, o in results if o not in (200, 201)]
    assert not failed, f"{label}: {len(failed)} of {len(results)} normal requests failed: {failed[:5]}"


def test_slow_clients_do_not_starve_the_others(srv):
    starve_and_check(srv)


def test_behind_nginx_as_shipped_in_docker(srv, nginx):
    """The production deployment: docker/nginx/paicha.conf in front (plain HTTP here, no TLS)."""
    starve_and_check(nginx)


def test_the_supervision_room_streams_through_nginx(srv, nginx):
    """The room's Server-Sent Events pass nginx as they come (not held in its buffers): the figures
    at once, and again within 2 s of a write made through nginx."""
    user, password = nginx.auth
    browser = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(f"{nginx.url}/ledger/login", timeout=10).text)
    r = browser.post(f"{nginx.url}/ledger/login", data={"name": user, "password": password, "csrf_token": token.group(1)},
                     allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text[:300]
    stream = browser.get(f"{nginx.url}/ledger/room/stream", stream=True, timeout=(10, 5))  # the test is over within 5 s
    assert stream.status_code == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
    events = []

    def read():
        try:
            for line in stream.iter_lines(decode_unicode=True):
                if line and line.startswith("data: "):
                    events.append((time.monotonic(), json.loads(line[6:])))
        except (requests.RequestException, AttributeError, ValueError):
            return  # closed by the test

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 10
        while not events and time.monotonic() < deadline:
            time.sleep(0.05)
        assert events, "no figures through nginx"
        before = events[-1][1]["figures"]["new_today"]["total"]
        now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        doc = {"type": "dispute", "area": "610402001001", "created_by": user, "created_at": now,
               "summary": "（测试）经代理", "parties": [{"name": "甲某", "role": "applicant"}],
               "category": "neighbourhood", "risk_level": "low", "status": "registered"}
        written = requests.put(f"{nginx.url}/paicha/room-through-nginx-{uuid.uuid4().hex[:8]}", json=doc,
                               auth=nginx.auth, timeout=10)
        assert written.status_code == 201, written.text
        sent = time.monotonic()
        while time.monotonic() < sent + 2:
            if events[-1][1]["figures"]["new_today"]["total"] == before + 1:
                break
            time.sleep(0.05)
        assert events[-1][1]["figures"]["new_today"]["total"] == before + 1, "not through nginx within 2 s"
    finally:
        stream.close()


def starve_and_check(srv):
    """`srv`: where the clients connect (the server, or nginx before it), with .url, .port, .auth."""
    warmup = normal_traffic(srv, rounds=1)  # each worker checks the password once (Argon2)
    assert_all_fine(warmup, "warm-up")
    baseline = normal_traffic(srv)
    assert_all_fine(baseline, "baseline")
    base_median = statistics.median(t for _, t, _ in baseline)

    slow = [slow_head(srv) for _ in range(SLOW_HEADS)] + [slow_body(srv) for _ in range(SLOW_BODIES)]
    lingering = []
    try:
        for client in slow:
            client.start()
        lingering = [lingerer(srv) for _ in range(LINGERERS)]
        time.sleep(1.5)  # every slow client has sent something and is dripping the rest

        # A live feed still gets a thread and follows the writes made meanwhile.
        try:
            feed = requests.get(f"{srv.url}/{DB}/_changes?feed=continuous&since=now&heartbeat=1000&timeout=20000",
                                auth=srv.auth, stream=True, timeout=10)
        except requests.RequestException as exc:
            feed = exc
        under = normal_traffic(srv)
        assert_all_fine(under, "with 40 slow clients")
        assert isinstance(feed, requests.Response) and feed.status_code == 200, f"live feed: {feed}"
        seen = 0
        deadline = time.monotonic() + 5
        for line in feed.iter_lines():
            if line.strip():
                seen += 1
            if seen >= 1 or time.monotonic() > deadline:
                break
        feed.close()

        under_times = [t for _, t, _ in under]
        print(f"\nbaseline: {summary(baseline)}\nwith {len(slow)} slow clients and {LINGERERS} lingering: "
              f"{summary(under)}")
        assert max(under_times) < 1.0, f"a normal request took {max(under_times):.2f} s; {summary(under)}"
        assert statistics.median(under_times) < max(5 * base_median, base_median + 0.15), (
            f"normal requests slowed down: baseline {summary(baseline)}; with slow clients {summary(under)}")
        assert seen >= 1, "the live _changes feed saw none of the writes made meanwhile"

        # Every slow client was waited for, not dropped: finishing now, each gets its answer.
        for client in slow:
            assert client.is_alive() and client.error is None, client.error
            client.finish.set()
        for client in slow:
            client.join(20)
        heads = slow[:SLOW_HEADS]
        bodies = slow[SLOW_HEADS:]
        assert [c.status for c in heads] == [200] * SLOW_HEADS, [(c.status, c.error) for c in heads]
        assert [c.status for c in bodies] == [201] * SLOW_BODIES, [(c.status, c.error) for c in bodies]
        for client in bodies[:3]:
            r = requests.get(f"{srv.url}/{DB}/{client.doc_id}", auth=srv.auth, timeout=10)
            assert r.status_code == 200 and r.json()["slow"] is True and len(r.json()["pad"]) == 370
    finally:
        for client in slow:
            client.finish.set()
        for s in lingering:
            s.close()


# -- what the buffering keeps ------------------------------------------------------------------------

def test_pipelined_requests_are_answered_in_order(srv):
    doc_id = f"pipe-{uuid.uuid4().hex}"
    body = json.dumps({"pipelined": True}).encode()
    put = (f"PUT /{DB}/{doc_id} HTTP/1.1\r\nHost: x\r\nAuthorization: {basic(srv)}\r\n"
           f"Content-Length: {len(body)}\r\nContent-Type: application/json\r\n\r\n").encode() + body
    get = f"GET /{DB}/{doc_id} HTTP/1.1\r\nHost: x\r\nAuthorization: {basic(srv)}\r\n\r\n".encode()
    with connect(srv) as s:
        s.sendall(b"GET /_up HTTP/1.1\r\nHost: x\r\n\r\n" + put + get)  # all three in one segment
        responses = read_responses(s, 3)
        assert [status for status, _, _ in responses] == [200, 201, 200]
        assert json.loads(responses[2][2])["pipelined"] is True
        s.sendall(b"GET /_up HTTP/1.1\r\nHost: x\r\n\r\n")  # nothing was served twice, or left over
        assert [status for status, _, _ in read_responses(s, 1)] == [200]
        s.settimeout(0.5)
        with pytest.raises(socket.timeout):
            s.recv(1)


def test_a_chunked_body_arriving_slowly_is_read_whole(srv):
    doc = json.dumps({"chunked": True, "pad": "c" * 5000}).encode()
    chunks = [doc[i:i + 1000] for i in range(0, len(doc), 1000)]
    with connect(srv) as s:
        s.sendall((f"PUT /{DB}/chunked HTTP/1.1\r\nHost: x\r\nAuthorization: {basic(srv)}\r\n"
                   "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode())
        for chunk in chunks:
            s.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            time.sleep(0.05)
        s.sendall(b"0\r\n\r\n")
        assert read_response(s)[0] == 201
    r = requests.get(f"{srv.url}/{DB}/chunked", auth=srv.auth, timeout=10)
    assert r.json()["pad"] == "c" * 5000


def test_expect_100_continue_is_answered_before_the_body(srv):
    body = json.dumps({"expect": True}).encode()
    with connect(srv) as s:
        s.sendall((f"PUT /{DB}/expect-{uuid.uuid4().hex} HTTP/1.1\r\nHost: x\r\nAuthorization: {basic(srv)}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                   "Expect: 100-continue\r\n\r\n").encode())
        status, _, rest = read_response(s, timeout=5)
        assert status == 100 and rest == b""
        s.sendall(body)
        assert read_response(s)[0] == 201


def test_a_large_body_is_spilled_and_arrives_intact(srv):
    pad = os.urandom(1_200_000).hex()  # 2.4 MB of JSON: past the 1 MiB kept in memory
    r = requests.put(f"{srv.url}/{DB}/large", data=json.dumps({"pad": pad}),
                     headers={"Content-Type": "application/json"}, auth=srv.auth, timeout=60)
    assert r.status_code == 201, r.text
    assert requests.get(f"{srv.url}/{DB}/large", auth=srv.auth, timeout=60).json()["pad"] == pad


def test_too_large_and_malformed_requests_are_answered_at_once(srv):
    with connect(srv) as s:
        started = time.monotonic()
        s.sendall((f"PUT /{DB}/huge HTTP/1.1\r\nHost: x\r\nAuthorization: {basic(srv)}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n{{").encode())
        status, headers, _ = read_response(s, timeout=5)
        assert status == 413 and time.monotonic() - started < 3
        assert headers.get("connection", "").lower() == "close"
    with connect(srv) as s:
        s.sendall(b"GET /_up HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        assert read_response(s, timeout=5)[0] == 400


# -- the timeouts ------------------------------------------------------------------------------------

def closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def test_clients_stalled_for_good_are_dropped(server_factory):
    srv = server_factory(env={"WEB_CLIENT_TIMEOUT": "1", "WEB_THREADS": "2"})
    requests.put(f"{srv.url}/{DB}", auth=srv.auth, timeout=10).raise_for_status()
    # A 6 MB attachment: more than a stalled reader's socket buffers hold.
    blob = os.urandom(6 * 1024 * 1024)
    r = requests.put(f"{srv.url}/{DB}/big/blob", data=blob, headers={"Content-Type": "application/octet-stream"},
                     auth=srv.auth, timeout=60)
    assert r.status_code == 201, r.text

    head = connect(srv)
    head.sendall(b"GET /_up HTTP/1.1\r\nHost: x\r\n")  # and nothing more
    body = connect(srv)
    body.sendall(b"PUT /slow_clients/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    readers = []
    for _ in range(2):  # as many as threads: each takes the blob and reads none of it
        reader = connect(srv)
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.sendall(f"GET /{DB}/big/blob HTTP/1.1\r\nHost: x\r\nAuthorization: {basic(srv)}\r\n\r\n".encode())
        readers.append(reader)
    try:
        time.sleep(0.5)
        # Both threads are stuck writing the blob; within the timeout they give up and serve again.
        started = time.monotonic()
        r = requests.get(f"{srv.url}/_up", timeout=15)
        assert r.status_code == 200 and time.monotonic() - started < 8
        assert closed_within(head, 8), "a client that stopped sending its head was not dropped"
        assert closed_within(body, 8), "a client that stopped sending its body was not dropped"
    finally:
        for s in [head, body, *readers]:
            s.close()


def _upload_body(doc_id: str, photo: bytes) -> tuple[str, bytes]:
    boundary = "slow-b0undary"
    doc = {"_id": doc_id, "_rev": "1-" + "ab" * 16, "_revisions": {"start": 1, "ids": ["ab" * 16]},
           "_attachments": {"photo.jpg": {"content_type": "image/jpeg", "length": len(photo), "follows": True}}}
    body = (f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{json.dumps(doc)}\r\n--{boundary}\r\n\r\n"
            .encode() + photo + f"\r\n--{boundary}--".encode())
    return f'multipart/related; boundary="{boundary}"', body


def _upload_offset(target, location: str) -> int:
    r = requests.head(f"{target.url}{location}", headers={"Tus-Resumable": "1.0.0"}, auth=target.auth, timeout=10)
    assert r.status_code == 200, r.status_code
    return int(r.headers["Upload-Offset"])


@pytest.mark.parametrize("via", ["direct", "nginx", "stalled"])
def test_the_bytes_of_a_cut_upload_reach_the_server_and_it_resumes(request, srv, via):
    """A resumable upload's body cut mid-way (the client's connection reset, or stalled past the
    client timeout) is not dropped: the server keeps what came, directly and behind nginx as shipped."""
    target = request.getfixturevalue("nginx") if via == "nginx" else srv
    if via == "stalled":
        target = request.getfixturevalue("server_factory")(env={"WEB_CLIENT_TIMEOUT": "1"})
        requests.put(f"{target.url}/{DB}", auth=target.auth, timeout=10)
    photo = os.urandom(300 * 1024)
    doc_id = f"cut-{uuid.uuid4().hex}"
    content_type, body = _upload_body(doc_id, photo)
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    (("doc_id", doc_id), ("content_type", content_type)))
    r = requests.post(f"{target.url}/{DB}/_uploads", auth=target.auth, timeout=10, headers={
        "Tus-Resumable": "1.0.0", "Upload-Length": str(len(body)), "Upload-Metadata": meta})
    assert r.status_code == 201, r.text
    location = r.headers["Location"]
    sent = 120_000
    sock = connect(target)
    sock.sendall(f"PATCH {location} HTTP/1.1\r\nHost: x\r\nAuthorization: {basic(target)}\r\nTus-Resumable: 1.0.0\r\n"
                 f"Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:sent])
    if via == "stalled":
        time.sleep(2.5)  # sends nothing more for longer than the client timeout
    else:
        time.sleep(0.3)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # reset
    sock.close()
    deadline = time.monotonic() + 10
    while (held := _upload_offset(target, location)) < sent and time.monotonic() < deadline:
        time.sleep(0.2)
    assert held == sent, f"the server holds {held} of the {sent} bytes that reached it"
    r = requests.patch(f"{target.url}{location}", data=body[held:], auth=target.auth, timeout=30, headers={
        "Tus-Resumable": "1.0.0", "Upload-Offset": str(held), "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204 and int(r.headers["Upload-Offset"]) == len(body), r.text
    r = requests.get(f"{target.url}/{DB}/{doc_id}/photo.jpg", auth=target.auth, timeout=30)
    assert r.status_code == 200 and r.content == photo
