"""Log lines: plain text or one JSON object per line, with credentials in URLs masked in every one.

`configure(fmt, level)` (create_app calls it with PAICHA_LOG_FORMAT and PAICHA_LOG_LEVEL) sets the
root logger's handlers up: JSON lines carry ts, level, logger, msg, pid and any `extra` fields.
`MaskCredentials` is a safety net: the bridge never logs a URL with its password, nor should anyone.
"""
from __future__ import annotations

import json
import logging
import time

from sync.bridge.urls import mask_url

_RECORD_FIELDS = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}


class MaskCredentials(logging.Filter):
    """Masks user-info in any URL of a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is the handler's to report
            return True
        masked = mask_url(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exc"] = mask_url(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure(fmt: str = "text", level: str = "INFO") -> None:
    """Every handler of the root logger masks credentials (and writes JSON when `fmt` is json)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level)
    # Alembic announces every plugin at INFO on each start (and each `flask` command).
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    for handler in root.handlers:
        if not any(isinstance(f, MaskCredentials) for f in handler.filters):
            handler.addFilter(MaskCredentials())
        if fmt == "json":
            handler.setFormatter(JsonFormatter())
