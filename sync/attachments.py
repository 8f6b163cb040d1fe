"""Attachment bytes, stored once per md5 digest, and the stubs that point at them."""
from __future__ import annotations

import base64
import binascii
import hashlib

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from . import errors
from .tables import attachments

DEFAULT_CONTENT_TYPE = "application/octet-stream"


def md5_digest(data: bytes) -> str:
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def decode_inline(name: str, data) -> bytes:
    if not isinstance(data, str):
        raise errors.BadRequest(f"Attachment {name!r}: data must be a base64 string.")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise errors.BadRequest(f"Attachment {name!r}: data is not valid base64.") from None


def save_blob(conn: sa.Connection, data: bytes) -> str:
    digest = md5_digest(data)
    values = {"digest": digest, "length": len(data), "data": data}
    dialect = conn.dialect.name
    if dialect == "postgresql":
        stmt = postgresql.insert(attachments).values(values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(attachments).values(values).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two stores above are supported
        raise RuntimeError(f"unsupported database {dialect}")
    conn.execute(stmt)
    return digest


def load_blob(conn: sa.Connection, digest: str) -> bytes | None:
    return conn.execute(sa.select(attachments.c.data).where(attachments.c.digest == digest)).scalar()


def resolve(
    conn: sa.Connection,
    incoming: dict | None,
    new_pos: int,
    find_stub,
    keep_revpos: bool = True,
) -> dict | None:
    """Turn the `_attachments` a client sent into stored stubs.

    `find_stub(name, att)` returns the stub an incoming `stub: true` entry refers to, or None.
    An attachment sent with its data gets the new revision's position as its revpos, unless
    `keep_revpos` (a replicated revision) and it says its own (couch_db:set_new_att_revpos is
    applied to interactive edits only).
    """
    if not incoming:
        return None
    stubs = {}
    for name, att in incoming.items():
        if not isinstance(att, dict):
            raise errors.BadRequest(f"Attachment {name!r} must be a JSON object.")
        if att.get("stub"):
            known = find_stub(name, att)
            if known is None:
                raise errors.MissingStub(f"Attachment stub {name!r} refers to a missing attachment.")
            stubs[name] = {k: known[k] for k in ("content_type", "digest", "length", "revpos") if k in known}
            stubs[name]["stub"] = True
        elif "data" in att:
            data = decode_inline(name, att["data"])
            digest = save_blob(conn, data)
            revpos = att.get("revpos") if keep_revpos and isinstance(att.get("revpos"), int) else new_pos
            stubs[name] = {
                "content_type": att.get("content_type") or DEFAULT_CONTENT_TYPE,
                "digest": digest,
                "length": len(data),
                "revpos": revpos,
                "stub": True,
            }
        else:
            raise errors.BadRequest(f"Attachment {name!r} has neither data nor stub.")
    return stubs


def inline(conn: sa.Connection, stubs: dict, since_pos: int = 0) -> dict:
    """Attachments with their data in base64, except those a client already has (revpos <= since_pos)."""
    out = {}
    for name, stub in stubs.items():
        entry = {k: stub[k] for k in ("content_type", "digest", "length", "revpos") if k in stub}
        if stub.get("revpos", 0) <= since_pos:
            entry["stub"] = True
        else:
            data = load_blob(conn, stub["digest"])
            entry.pop("length", None)
            entry["data"] = base64.b64encode(data or b"").decode("ascii")
        out[name] = entry
    return out
