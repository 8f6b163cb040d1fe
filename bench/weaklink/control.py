"""The link simulator for code that is not asyncio (a benchmark, a test): the proxy runs in a thread
of its own; start, stop, read the counters and cut the link from the caller's thread."""
from __future__ import annotations

import asyncio
import threading
from urllib.parse import urlsplit

from .outage import Cut
from .proxy import LinkProfile, LinkProxy


class SimulatedLink:
    """A slow link in front of `target` ("http://host:port" or (host, port)); `url` is where a client
    connects instead.

        with SimulatedLink("http://127.0.0.1:5984") as link:
            ... a client uses link.url ...
            link.counters()["bytes_down"]
    """

    def __init__(self, target: str | tuple[str, int], profile: LinkProfile | None = None):
        if isinstance(target, str):
            parts = urlsplit(target)
            target = (parts.hostname, parts.port or 80)
        self.proxy = LinkProxy(*target, profile=profile)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy.port}"

    def start(self) -> "SimulatedLink":
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self.proxy.start())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self.proxy.stop())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="simulated-link", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop and self._thread and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def _call(self, function, *args):
        """Run `function(*args)` in the proxy's loop and return its result."""
        async def call():
            return function(*args)
        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(10)

    def counters(self) -> dict:
        """Bytes up and down, requests (each with method, path, status, bytes, encodings), connections
        opened, refused and reset, and the cuts so far."""
        return self._call(self.proxy.counters)

    def reshape(self, profile: LinkProfile) -> None:
        """Change the link's bandwidth and delay from now on."""
        self._call(self.proxy.reshape, profile)

    def cut(self, outage_s: float) -> None:
        """Down now, for `outage_s` seconds."""
        self._call(self.proxy.cut, outage_s)

    def plan(self, cut: Cut) -> None:
        """Go down when `cut` says (bytes up or down, a time, counted from when it is armed)."""
        self._call(self.proxy.plan, cut)

    def __enter__(self) -> "SimulatedLink":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
