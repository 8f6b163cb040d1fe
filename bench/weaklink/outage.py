"""When the link goes down: after so many bytes up or down, or at a time, counted from the moment the
plan is armed (at once, or when a request it is waiting for starts, e.g. the one carrying a photo)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .http_stream import Exchange


@dataclass
class Cut:
    """The link goes down for `outage_s` seconds: every open connection is reset and new ones are
    refused until it is back. Whichever of the triggers comes first fires it, once."""
    outage_s: float
    after_bytes_up: int | None = None
    after_bytes_down: int | None = None
    at_s: float | None = None
    armed_by: Callable[[Exchange], bool] | None = None  # None: armed as soon as it is planned


class CutPlan:
    def __init__(self, cut: Cut):
        self.cut = cut
        self.armed = False
        self.fired = False
        self._base = {"up": 0, "down": 0}

    def arm(self, bytes_up: int, bytes_down: int) -> None:
        self.armed = True
        self._base = {"up": bytes_up, "down": bytes_down}

    def limit(self, direction: str) -> int | None:
        return self.cut.after_bytes_up if direction == "up" else self.cut.after_bytes_down

    def room(self, direction: str, carried: int) -> int | None:
        """Bytes that may still cross in `direction` before the cut (None: no limit that way)."""
        limit = self.limit(direction)
        if self.fired or not self.armed or limit is None:
            return None
        return max(0, self._base[direction] + limit - carried)

    def reached(self, bytes_up: int, bytes_down: int) -> bool:
        return self.room("up", bytes_up) == 0 or self.room("down", bytes_down) == 0
