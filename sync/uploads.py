"""Resumable uploads of one document revision: its `multipart/related` body (the JSON, then the
attachments' bytes) received in pieces that are each committed as they arrive, so a cut link loses
only the piece in flight and the sender resumes from what the server holds.

The revision is judged as soon as its JSON has arrived (so a refused photo is not sent to the end),
and written once whole, as a replicated revision (`new_edits=false`): the server then holds the very
revision the phone made, and the phone's next replication finds nothing left to send or to fetch.
Everything a write obeys (scope, schema, write rules) applies, through the same pipeline.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Callable, Iterator

import sqlalchemy as sa

from . import errors, multipart
from .database import Database
from .docs import MAX_DOCUMENT_BYTES, validate_doc_id
from .results import WriteResult
from .tables import upload_pieces, uploads

PIECE_BYTES = 64 * 1024  # committed at once; a cut loses at most this much
RECEIVING, CHECKED, WRITTEN = "receiving", "checked", "written"


@dataclass(frozen=True)
class Upload:
    id: str
    doc_id: str
    content_type: str
    length: int
    received: int
    metadata: str
    state: str
    expires_at: dt.datetime

    @property
    def complete(self) -> bool:
        return self.received == self.length


class RevisionUploads:
    """One database's uploads, for the account that opened it (another's are not found)."""

    def __init__(self, database: Database, now: Callable[[], dt.datetime], lifetime: dt.timedelta) -> None:
        self.db = database
        self.store = database.store
        self.owner = database.access.user
        self.now = now
        self.lifetime = lifetime

    def begin(self, doc_id: str, content_type: str, length: int, metadata: str) -> Upload:
        validate_doc_id(doc_id)
        if doc_id.startswith("_local/"):
            raise errors.BadRequest("A _local document cannot be uploaded.")
        multipart.form_of(content_type)
        now = self.now()
        upload = Upload(secrets.token_hex(16), doc_id, content_type, length, 0, metadata, RECEIVING,
                        now + self.lifetime)
        with self.store.writing() as conn:
            self._forget_expired(conn, now)
            conn.execute(uploads.insert().values(
                id=upload.id, db_id=self.db.id, owner=self.owner, doc_id=doc_id, content_type=content_type,
                length=length, received=0, metadata=metadata, state=RECEIVING, expires_at=upload.expires_at))
        return upload

    def find(self, upload_id: str) -> Upload:
        with self.store.reading() as conn:
            row = conn.execute(sa.select(uploads).where(
                uploads.c.id == upload_id, uploads.c.db_id == self.db.id, uploads.c.owner == self.owner,
                uploads.c.expires_at > self.now())).first()
        if row is None:
            raise errors.UploadNotFound()
        return _upload(row)

    def receive(self, upload: Upload, offset: int, pieces: Iterator[bytes],
                announced: int | None = None) -> tuple[Upload, WriteResult | None]:
        """Append the bytes of `pieces` at `offset` (which must be what the server holds), committing
        each PIECE_BYTES as they come; when the client stops early, what arrived is kept. Judges the
        revision once its JSON is in, and writes it once whole: then its `WriteResult` is given.
        `announced`: how many bytes the client says it sends, when it says."""
        if upload.state == WRITTEN or offset != upload.received:
            raise errors.UploadOffsetMismatch(offset=offset, received=upload.received)
        if announced is not None and offset + announced > upload.length:
            raise errors.BadRequest(f"The upload is {upload.length} bytes long; more was sent.")
        buffer = bytearray()
        for piece in pieces:
            if upload.received + len(buffer) + len(piece) > upload.length:
                raise errors.BadRequest(f"The upload is {upload.length} bytes long; more was sent.")
            buffer += piece
            if len(buffer) >= PIECE_BYTES:
                upload = self._keep(upload, bytes(buffer))
                buffer.clear()
        if buffer:
            upload = self._keep(upload, bytes(buffer))
        return upload, (self._write(upload) if upload.complete else None)

    def retry_write(self, upload: Upload) -> WriteResult | None:
        """A whole upload whose write failed (the store was away) is written on the next ask."""
        return self._write(upload) if upload.complete and upload.state != WRITTEN else None

    def cancel(self, upload: Upload) -> None:
        with self.store.writing() as conn:
            _delete(conn, upload.id)

    # -- inside -------------------------------------------------------------------------------
    def _keep(self, upload: Upload, data: bytes) -> Upload:
        with self.store.writing() as conn:
            moved = conn.execute(uploads.update().where(
                uploads.c.id == upload.id, uploads.c.received == upload.received, uploads.c.state != WRITTEN,
            ).values(received=upload.received + len(data), expires_at=self.now() + self.lifetime)).rowcount
            if moved != 1:  # another request for this upload moved it meanwhile (a retry overtook us)
                raise errors.UploadOffsetMismatch(offset=upload.received, received="?")
            conn.execute(upload_pieces.insert().values(upload_id=upload.id, offset=upload.received, data=data))
        upload = _replace(upload, received=upload.received + len(data))
        if upload.state == RECEIVING:
            upload = self._judge_early(upload)
        return upload

    def _judge_early(self, upload: Upload) -> Upload:
        form = multipart.form_of(upload.content_type)
        with self.store.reading() as conn:
            head = _bytes(conn, upload.id, limit=MAX_DOCUMENT_BYTES + 4096)
        try:
            doc = multipart.first_part(form, head)
            if doc is None:
                if len(head) > MAX_DOCUMENT_BYTES:
                    raise errors.DocumentTooLarge()
                return upload
            self._same_document(upload, doc)
            self.db.check_revision(doc)
        except errors.CouchError:
            self.cancel(upload)  # nothing of a refused revision is kept
            raise
        with self.store.writing() as conn:
            conn.execute(uploads.update().where(uploads.c.id == upload.id).values(state=CHECKED))
        return _replace(upload, state=CHECKED)

    def _write(self, upload: Upload) -> WriteResult:
        with self.store.reading() as conn:
            body = _bytes(conn, upload.id)
        try:
            doc = multipart.parse(multipart.form_of(upload.content_type), body)
            self._same_document(upload, doc)
            result = self.db.put(doc, upload.doc_id, new_edits=False)
        except errors.CouchError:
            self.cancel(upload)
            raise
        # Kept (without its bytes) until it expires, so that a client asking after a lost answer
        # learns that the whole upload arrived.
        with self.store.writing() as conn:
            conn.execute(upload_pieces.delete().where(upload_pieces.c.upload_id == upload.id))
            conn.execute(uploads.update().where(uploads.c.id == upload.id).values(state=WRITTEN))
        return result

    @staticmethod
    def _same_document(upload: Upload, doc: dict) -> None:
        if doc.get("_id", upload.doc_id) != upload.doc_id:
            raise errors.BadRequest(f"The revision is of {doc.get('_id')!r}, not of {upload.doc_id!r} "
                                    "as the upload said.")

    def _forget_expired(self, conn, now: dt.datetime) -> None:
        expired = sa.select(uploads.c.id).where(uploads.c.expires_at <= now)
        conn.execute(upload_pieces.delete().where(upload_pieces.c.upload_id.in_(expired)))
        conn.execute(uploads.delete().where(uploads.c.expires_at <= now))


def _bytes(conn, upload_id: str, limit: int | None = None) -> bytes:
    out = bytearray()
    rows = conn.execute(sa.select(upload_pieces.c.data).where(upload_pieces.c.upload_id == upload_id)
                        .order_by(upload_pieces.c.offset))
    for (data,) in rows:
        out += data
        if limit is not None and len(out) >= limit:
            break
    return bytes(out)


def _delete(conn, upload_id: str) -> None:
    conn.execute(upload_pieces.delete().where(upload_pieces.c.upload_id == upload_id))
    conn.execute(uploads.delete().where(uploads.c.id == upload_id))


def _upload(row) -> Upload:
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.timezone.utc)
    return Upload(row.id, row.doc_id, row.content_type, row.length, row.received, row.metadata, row.state, expires)


def _replace(upload: Upload, **changes) -> Upload:
    return dataclasses.replace(upload, **changes)
