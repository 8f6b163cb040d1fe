"""One direction of a slow radio link: a pipe with a bandwidth and a latency.

Bytes leave the transmitter one after another at the link's bandwidth (every connection shares it,
as they share a phone's one radio) and arrive a one-way delay later, in the order they left. While
bytes are on their way the transmitter is already sending the next ones: the delay applies to data
in flight, it is not a pause per read.
"""
from __future__ import annotations

import asyncio
import collections
from typing import Callable

# Data crosses the link in pieces of a TCP segment's payload, so a reader sees a long body arrive
# little by little, and a cut can fall inside it.
SEGMENT = 1460


class Pipe:
    def __init__(self, bandwidth: float | None, delay_s: float):
        """`bandwidth` in bytes per second (None: unlimited), `delay_s` the one-way delay."""
        self.bandwidth = bandwidth
        self.delay_s = delay_s
        self.bytes_carried = 0
        self._transmitter_free_at = 0.0
        self._in_flight: collections.deque[tuple[float, Callable[[], None]]] = collections.deque()
        self._arrival = asyncio.Event()
        self._courier: asyncio.Task | None = None

    def start(self) -> None:
        self._courier = asyncio.get_running_loop().create_task(self._deliver_in_order())

    async def stop(self) -> None:
        if self._courier:
            self._courier.cancel()
            try:
                await self._courier
            except asyncio.CancelledError:
                pass
        self._in_flight.clear()

    async def send(self, data: bytes, arrive: Callable[[bytes], None], crossed: Callable[[bytes], None],
                   carry_on: Callable[[], bool], room: Callable[[], int | None] = lambda: None) -> None:
        """Transmit `data` segment by segment and return when its last byte has left: a sender cannot
        run ahead of the link, the rest waits in its own socket buffer, as on a phone. `crossed(segment)`
        is called as each segment leaves, `arrive(segment)` one delay later; once `carry_on()` is false
        (the connection was reset) nothing more leaves. No segment is longer than `room()` (the bytes
        left before a planned cut), so a cut falls on the byte."""
        loop = asyncio.get_running_loop()
        position = 0
        while position < len(data):
            limit = room()
            size = SEGMENT if limit is None else max(1, min(SEGMENT, limit))
            segment = data[position:position + size]
            position += len(segment)
            now = loop.time()
            begins = max(now, self._transmitter_free_at)
            ends = begins + (len(segment) / self.bandwidth if self.bandwidth else 0.0)
            self._transmitter_free_at = ends
            if ends > now:
                await asyncio.sleep(ends - now)
            if not carry_on():
                return
            self.bytes_carried += len(segment)
            self._post(ends + self.delay_s, lambda segment=segment: arrive(segment))
            crossed(segment)

    def send_after_data(self, event: Callable[[], None]) -> None:
        """`event` (an end of stream) arrives after everything sent before it."""
        loop = asyncio.get_running_loop()
        self._post(max(loop.time(), self._transmitter_free_at) + self.delay_s, event)

    def _post(self, arrives_at: float, event: Callable[[], None]) -> None:
        # Arrival times never decrease (the transmitter's clock only moves on), so a deque in
        # arrival order is all the ordering needed.
        self._in_flight.append((arrives_at, event))
        self._arrival.set()

    async def _deliver_in_order(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._in_flight:
                self._arrival.clear()
                await self._arrival.wait()
                continue
            arrives_at, event = self._in_flight[0]
            wait = arrives_at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            self._in_flight.popleft()
            try:
                event()
            except Exception:  # noqa: BLE001 - a connection gone meanwhile must not stop the others' data
                pass
