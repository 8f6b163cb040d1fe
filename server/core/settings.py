"""Configuration from the environment, with defaults that make `make run` work with nothing else."""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SQLITE = Path(__file__).resolve().parent.parent / "instance" / "paicha.sqlite3"


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def from_env() -> dict:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE}"
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://"):]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        # The database phones replicate with; it carries the domain rules.
        "PAICHA_DOMAIN_DB": os.environ.get("PAICHA_DOMAIN_DB", "paicha"),
        "MAX_CONTENT_LENGTH": _int("PAICHA_MAX_BODY_BYTES", 64 * 1024 * 1024),
        "PAICHA_ADMIN_PASSWORD": os.environ.get("PAICHA_ADMIN_PASSWORD"),
        "PAICHA_DEMO": os.environ.get("PAICHA_DEMO", "0") == "1",
        "SECRET_KEY": os.environ.get("PAICHA_SECRET_KEY"),
        "PAICHA_SESSION_SECONDS": _int("PAICHA_SESSION_SECONDS", 7 * 24 * 3600),
        "COMPRESS_MIMETYPES": ["application/json", "text/html", "text/css", "application/javascript"],
        "COMPRESS_MIN_SIZE": 500,
        # Streamed responses (_changes) must not be buffered by the compressor: heartbeats and
        # longpoll answers have to reach the phone as they are written.
        "COMPRESS_STREAMS": False,
    }
