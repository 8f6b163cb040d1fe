"""Remote URLs: credentials out of the URL, and a masked form for logs.

A URL is only ever logged, printed or stored (replication ids, checkpoint documents) through
`mask_url` / `RemoteURL.public`, which never contain the password.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^@/?#\s]*)@")


def mask_url(text: str) -> str:
    """Replace the user-info part of every URL in `text` by `***` (also used as a log filter)."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", text)


@dataclass(frozen=True)
class RemoteURL:
    """A CouchDB database URL, split into the credential-free URL and the credentials."""

    url: str  # scheme://host[:port]/path/to/db, no user-info, no query, no trailing slash
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, raw: str, username: str | None = None, password: str | None = None) -> "RemoteURL":
        """User-info in the URL wins over `username`/`password` (from the environment)."""
        parts = urlsplit(raw.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {mask_url(raw)}")
        path = parts.path.rstrip("/")
        if not path or path == "/":
            raise ValueError(f"the URL names no database: {mask_url(raw)}")
        if parts.username is not None:
            username = unquote(parts.username)
            password = unquote(parts.password) if parts.password is not None else password
        host = parts.hostname
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        return cls(urlunsplit((parts.scheme, netloc, path, "", "")), username or None, password)

    @property
    def server_url(self) -> str:
        parts = urlsplit(self.url)
        base = parts.path.rsplit("/", 1)[0]
        return urlunsplit((parts.scheme, parts.netloc, base + "/", "", ""))

    @property
    def db_name(self) -> str:
        return unquote(urlsplit(self.url).path.rsplit("/", 1)[1])

    @property
    def public(self) -> str:
        """For logs: `***@` says credentials are in use without showing any of them (an API key is
        sometimes the user name)."""
        if not self.username:
            return self.url
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, f"***@{parts.netloc}", parts.path, "", ""))

    @property
    def credentials(self) -> tuple[str, str] | None:
        if self.username is None:
            return None
        return (self.username, self.password or "")
