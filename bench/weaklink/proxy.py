"""The link simulator: a TCP proxy between the phone and the server, in asyncio.

Every connection's bytes go through the link's two pipes (`pipe.Pipe`: bandwidth, one-way delay),
shared by all connections; a new connection costs a round trip before any data flows (TCP's
handshake); a cut (`outage.Cut`) resets every open connection and refuses new ones until the link is
back. The proxy counts the bytes that crossed each way and, reading the HTTP on the streams
(`http_stream`), the requests and their answers.
"""
from __future__ import annotations

import asyncio
import socket
import struct
import time
from dataclasses import asdict, dataclass

from .http_stream import ConnectionWatch, Exchange
from .outage import Cut, CutPlan
from .pipe import Pipe

READ_SIZE = 16 * 1024


@dataclass
class LinkProfile:
    """A 2G link by default: 8 000 B/s each way, 250 ms each way, one round trip to open a connection."""
    up_bandwidth: float | None = 8000
    down_bandwidth: float | None = 8000
    delay_s: float = 0.25
    setup_round_trips: int = 1


def reset_socket(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (RST), as a connection lost on the radio is seen by whoever still waits."""
    sock = writer.get_extra_info("socket")
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except (OSError, AttributeError):
        pass
    writer.transport.abort()


class LinkProxy:
    def __init__(self, target_host: str, target_port: int, profile: LinkProfile | None = None,
                 listen_host: str = "127.0.0.1", listen_port: int = 0):
        self.target = (target_host, target_port)
        self.profile = profile or LinkProfile()
        self.listen = (listen_host, listen_port)
        self.port: int | None = None
        self.exchanges: list[Exchange] = []
        self.connections_opened = 0
        self.connections_refused = 0
        self.connections_reset = 0
        self.cuts: list[dict] = []
        self._down_until = 0.0
        self._plans: list[CutPlan] = []
        self._open: set[_Connection] = set()
        self._handlers: set[asyncio.Task] = set()
        self._server: asyncio.AbstractServer | None = None
        self._started = 0.0

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> "LinkProxy":
        self.up = Pipe(self.profile.up_bandwidth, self.profile.delay_s)
        self.down = Pipe(self.profile.down_bandwidth, self.profile.delay_s)
        self.up.start()
        self.down.start()
        self._server = await asyncio.start_server(self._accept, *self.listen)
        self.port = self._server.sockets[0].getsockname()[1]
        self._started = time.monotonic()
        return self

    async def stop(self) -> None:
        if self._server:
            self._server.close()
        for connection in list(self._open):
            connection.reset()
        if self._handlers:  # let them see their resets and end
            await asyncio.wait(self._handlers, timeout=5)
        await self.up.stop()
        await self.down.stop()

    def reshape(self, profile: LinkProfile) -> None:
        """The link becomes `profile` from now on (e.g. a fast link to install an app, then 2G for
        the work), for the bytes sent from now on; a connection's handshake is as it was when it opened."""
        self.profile = profile
        self.up.bandwidth, self.down.bandwidth = profile.up_bandwidth, profile.down_bandwidth
        self.up.delay_s = self.down.delay_s = profile.delay_s

    # -- the link going down -------------------------------------------------------------------------
    def link_down(self) -> bool:
        return asyncio.get_running_loop().time() < self._down_until

    def cut(self, outage_s: float, reason: str = "now") -> None:
        """Down at once for `outage_s` seconds: open connections are reset, new ones refused."""
        self._down_until = asyncio.get_running_loop().time() + outage_s
        self.cuts.append({"at_s": round(time.monotonic() - self._started, 3), "outage_s": outage_s,
                          "reason": reason, "bytes_up": self.up.bytes_carried, "bytes_down": self.down.bytes_carried,
                          "connections_reset": len(self._open)})
        for connection in list(self._open):
            connection.reset()

    def plan(self, cut: Cut) -> None:
        plan = CutPlan(cut)
        self._plans.append(plan)
        if cut.armed_by is None:
            self._arm(plan)

    def _arm(self, plan: CutPlan) -> None:
        plan.arm(self.up.bytes_carried, self.down.bytes_carried)
        if plan.cut.at_s is not None:
            asyncio.get_running_loop().call_later(plan.cut.at_s, self._fire, plan, f"at {plan.cut.at_s} s")

    def _fire(self, plan: CutPlan, reason: str) -> None:
        if not plan.fired:
            plan.fired = True
            self.cut(plan.cut.outage_s, reason)

    def room(self, direction: str) -> int | None:
        carried = (self.up if direction == "up" else self.down).bytes_carried
        rooms = [r for r in (p.room(direction, carried) for p in self._plans) if r is not None]
        return min(rooms) if rooms else None

    def _after_crossing(self) -> None:
        for plan in self._plans:
            if plan.reached(self.up.bytes_carried, self.down.bytes_carried):
                which = "up" if plan.room("up", self.up.bytes_carried) == 0 else "down"
                self._fire(plan, f"after {plan.limit(which):,} bytes {which}")

    def _on_request(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        for plan in self._plans:
            if not plan.armed and plan.cut.armed_by and plan.cut.armed_by(exchange):
                self._arm(plan)

    # -- counters ------------------------------------------------------------------------------------
    def counters(self) -> dict:
        return {"bytes_up": self.up.bytes_carried, "bytes_down": self.down.bytes_carried,
                "requests": len(self.exchanges), "connections": self.connections_opened,
                "connections_refused": self.connections_refused, "connections_reset": self.connections_reset,
                "cuts": list(self.cuts), "profile": asdict(self.profile),
                "exchanges": [e.describe() for e in self.exchanges]}

    # -- connections ---------------------------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.link_down():
            self.connections_refused += 1
            reset_socket(writer)
            return
        self.connections_opened += 1
        connection = _Connection(self, self.connections_opened, reader, writer)
        self._open.add(connection)
        handler = asyncio.current_task()
        self._handlers.add(handler)
        try:
            await connection.run()
        finally:
            self._open.discard(connection)
            self._handlers.discard(handler)


class _Connection:
    def __init__(self, proxy: LinkProxy, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.proxy = proxy
        self.client = (reader, writer)
        self.server: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.open = True
        self.ended = {"up": False, "down": False}
        self.watch = ConnectionWatch(number, proxy._on_request)

    def reset(self) -> None:
        if not self.open:
            return
        self.open = False
        self.proxy.connections_reset += 1
        for side in (self.client, self.server):
            if side:
                reset_socket(side[1])

    async def run(self) -> None:
        profile = self.proxy.profile
        # TCP's handshake: the phone's first byte can leave only a round trip after it asked.
        await asyncio.sleep(2 * profile.delay_s * profile.setup_round_trips)
        if not self.open:
            return
        if self.proxy.link_down():
            self.reset()
            return
        try:
            self.server = await asyncio.open_connection(*self.proxy.target)
        except OSError:
            self.reset()
            return
        if not self.open:
            reset_socket(self.server[1])
            return
        await asyncio.gather(
            self._pump("up", self.client[0], self.proxy.up, self.server[1], self.watch.up),
            self._pump("down", self.server[0], self.proxy.down, self.client[1], self.watch.down))
        if self.open:
            self.open = False
            for side in (self.client, self.server):
                side[1].close()

    async def _pump(self, direction, reader, pipe, writer, stream) -> None:
        def arrive(segment: bytes) -> None:
            if self.open and not writer.is_closing():
                writer.write(segment)

        def crossed(segment: bytes) -> None:
            stream.feed(segment)
            self.proxy._after_crossing()

        while self.open:
            try:
                data = await reader.read(READ_SIZE)
            except (ConnectionError, OSError):
                data = None
            if data is None:  # the other end reset: so does the link
                self.reset()
                return
            if not data:
                break
            await pipe.send(data, arrive, crossed, lambda: self.open, lambda: self.proxy.room(direction))
        if self.open:
            stream.close()
            pipe.send_after_data(lambda: self._end_of_stream(direction, writer))
            while self.open and not self.ended[direction]:
                await asyncio.sleep(0.05)

    def _end_of_stream(self, direction: str, writer: asyncio.StreamWriter) -> None:
        """The sender finished (after all its data has arrived): half-close towards the receiver."""
        self.ended[direction] = True
        if self.open and not writer.is_closing():
            if writer.can_write_eof():
                writer.write_eof()
            else:
                writer.close()
