"""Wake waiting `_changes` feeds when a database changes.

In-process waiters are woken at once; writes committed by another process are noticed by the
waiters' periodic re-check (see `ChangesFeed`), so several server processes stay correct.
"""
from __future__ import annotations

import threading
import time


class ChangeNotifier:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._versions: dict[str, int] = {}

    def version(self, db_name: str) -> int:
        with self._cond:
            return self._versions.get(db_name, 0)

    def notify(self, db_name: str) -> None:
        with self._cond:
            self._versions[db_name] = self._versions.get(db_name, 0) + 1
            self._cond.notify_all()

    def wait(self, db_name: str, seen_version: int, timeout: float) -> bool:
        """Wait until `db_name` changes past `seen_version`; True if it did."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._versions.get(db_name, 0) == seen_version:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True
