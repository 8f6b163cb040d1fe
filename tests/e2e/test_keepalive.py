"""Connections are kept open between a client's requests (a replication is a chain of short requests,
and on a weak link a new TCP/TLS handshake per request costs more than the request), and an idle
one is closed after WEB_KEEPALIVE seconds so that idle phones do not pile up."""
from __future__ import annotations

import http.client
import select
import time

KEEPALIVE_S = 1


def _get(conn: http.client.HTTPConnection, path: str) -> http.client.HTTPResponse:
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    return response


def test_requests_share_a_connection_until_it_sits_idle(server_factory):
    srv = server_factory(env={"WEB_KEEPALIVE": str(KEEPALIVE_S)})
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        first = _get(conn, "/")
        assert first.status == 200
        assert (first.getheader("Connection") or "").lower() != "close"
        sock = conn.sock
        assert sock is not None, "the server closed the connection after one request"
        local_port = sock.getsockname()[1]

        second = _get(conn, "/_up")
        assert second.status == 200
        assert conn.sock is sock and sock.getsockname()[1] == local_port  # the same connection served both

        # Idle for longer than the keepalive: the server hangs up (the socket turns readable at EOF).
        idle_from = time.monotonic()
        readable, _, _ = select.select([sock], [], [], KEEPALIVE_S + 5)
        assert readable, f"the server kept an idle connection open longer than {KEEPALIVE_S + 5} s"
        assert sock.recv(1) == b""
        assert time.monotonic() - idle_from >= KEEPALIVE_S * 0.5  # closed for idling, not at once
    finally:
        conn.close()


def test_a_slow_client_keeps_its_connection_within_the_keepalive(server_factory):
    srv = server_factory(env={"WEB_KEEPALIVE": "4"})
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        assert _get(conn, "/").status == 200
        sock = conn.sock
        time.sleep(2.5)  # a phone on a weak link between two requests (longer than gunicorn's default 2 s)
        assert _get(conn, "/_up").status == 200
        assert conn.sock is sock
    finally:
        conn.close()
