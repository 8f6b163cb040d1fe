"""A document revision in CouchDB's `multipart/related` form: the JSON first, then each attachment
the JSON marks `"follows": true`, as raw bytes in the order the JSON names them (what CouchDB takes
on `PUT /db/doc` and gives on `GET /db/doc?attachments=true` with `Accept: multipart/related`).

A photo then travels as bytes, not as base64 inside JSON (a third larger), and the JSON comes first,
so a receiver can judge the document before the photo has arrived.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from email.message import Message

from . import errors, jsonio

MEDIA_TYPE = "multipart/related"


@dataclass(frozen=True)
class Form:
    """What a revision's content type announces: its parts' boundary."""
    boundary: bytes

    @property
    def delimiter(self) -> bytes:
        return b"--" + self.boundary


def form_of(content_type: str | None) -> Form:
    message = Message()
    message["content-type"] = content_type or ""
    if message.get_content_type() != MEDIA_TYPE:
        raise errors.BadRequest(f"The revision must be sent as {MEDIA_TYPE}, not {content_type!r}.")
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not 1 <= len(boundary) <= 70 or not boundary.isascii():
        raise errors.BadRequest("multipart/related needs a boundary of 1 to 70 ASCII characters.")
    return Form(boundary.encode("ascii"))


def first_part(form: Form, received: bytes) -> dict | None:
    """The revision's JSON once the bytes received so far hold all of it; None until then."""
    start = _body_start(form, received)
    if start is None:
        return None
    end = received.find(b"\r\n" + form.delimiter, start)
    if end < 0:
        return None
    return _json(received[start:end])


def parse(form: Form, body: bytes) -> dict:
    """The revision as `_bulk_docs` would carry it: each attachment that follows given inline
    (base64), the others left as the JSON has them (stubs of attachments already held)."""
    parts = _split(form, body)
    doc = _json(parts[0][1])
    following = [name for name, att in (doc.get("_attachments") or {}).items()
                 if isinstance(att, dict) and att.get("follows")]
    if len(following) != len(parts) - 1:
        raise errors.BadRequest(f"The JSON names {len(following)} attachments that follow; "
                                f"{len(parts) - 1} were sent.")
    attachments = dict(doc.get("_attachments") or {})
    for name, (headers, data) in zip(following, parts[1:]):
        att = {k: v for k, v in attachments[name].items() if k not in ("follows", "length", "encoded_length")}
        if "length" in attachments[name] and attachments[name]["length"] != len(data):
            raise errors.BadRequest(f"Attachment {name!r} says it has {attachments[name]['length']} bytes; "
                                    f"{len(data)} were sent.")
        att.setdefault("content_type", headers.get("content-type") or None)
        att["data"] = base64.b64encode(data).decode("ascii")
        attachments[name] = {k: v for k, v in att.items() if v is not None}
    if attachments:
        doc["_attachments"] = attachments
    return doc


def _body_start(form: Form, received: bytes) -> int | None:
    if not received.startswith(form.delimiter + b"\r\n"):
        if len(received) >= len(form.delimiter) + 2:
            raise errors.BadRequest("The revision does not begin with its multipart boundary.")
        return None
    head_end = received.find(b"\r\n\r\n", len(form.delimiter))
    if head_end >= 0:
        return head_end + 4
    if received.startswith(form.delimiter + b"\r\n\r\n"):  # a part with no headers at all
        return len(form.delimiter) + 2
    return None


def _split(form: Form, body: bytes) -> list[tuple[dict, bytes]]:
    """Each part's headers (lower-cased names) and bytes; the closing delimiter is required, so a
    truncated revision is refused rather than stored short."""
    if not body.startswith(form.delimiter):
        raise errors.BadRequest("The revision does not begin with its multipart boundary.")
    separator = b"\r\n" + form.delimiter
    parts = []
    pos = len(form.delimiter)
    while True:
        if body.startswith(b"--", pos):
            break  # the closing delimiter; what follows it (an epilogue) is ignored
        if not body.startswith(b"\r\n", pos):
            raise errors.BadRequest("A multipart boundary must end its line.")
        end = body.find(separator, pos + 2)
        if end < 0:
            raise errors.BadRequest("The revision ends before its closing multipart boundary.")
        parts.append(_part(body[pos + 2:end]))
        pos = end + len(separator)
    if not parts:
        raise errors.BadRequest("The revision has no parts.")
    return parts


def _part(raw: bytes) -> tuple[dict, bytes]:
    if raw.startswith(b"\r\n"):
        return {}, raw[2:]
    head_end = raw.find(b"\r\n\r\n")
    if head_end < 0:
        raise errors.BadRequest("A multipart part has no blank line after its headers.")
    headers = {}
    for line in raw[:head_end].split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if not sep:
            raise errors.BadRequest("A multipart part has a malformed header line.")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return headers, raw[head_end + 4:]


def _json(raw: bytes) -> dict:
    try:
        doc = jsonio.loads(raw)
    except (ValueError, json.JSONDecodeError) as exc:
        raise errors.BadRequest(f"The revision's JSON part is not valid JSON: {exc}.") from None
    if not isinstance(doc, dict):
        raise errors.BadRequest("The revision's JSON part must be a JSON object.")
    return doc
