"""The supervisor's writes (report reviews, supervision notices): documents written through the
user-bound store handle with `server.services.records`, so the schema, the role and scope rules, the
quarantine and the audit trail apply exactly as for a phone, and the document replicates to the
phones of the area (a sent-back review reaches the cadre's PouchDB)."""
from __future__ import annotations

import datetime as dt

from schemas.errors import PaichaError
from sync import errors

from server.core.auth import Principal
from server.services import records
from server.services.collections import Collection
from server.interfaces.ledger.i18n import lang

WRITE_ATTEMPTS = 3


def write(database, collection: Collection, doc_id: str, fields: dict, who: Principal,
          now: dt.datetime) -> str | None:
    """Create the document, or update it if it exists (a re-review); None, or what went wrong, in
    the page's language (the catalogue's words)."""
    for _ in range(WRITE_ATTEMPTS):
        try:
            current = database.get(doc_id)
        except errors.NotFound:
            current = None
        try:
            if current is None:
                records.create(database, collection, {**fields, "id": doc_id}, user=who.name, now=now)
            else:
                records.update(database, collection, doc_id, {**fields, "rev": current["_rev"]},
                               user=who.name, now=now)
            return None
        except errors.CouchError:
            raise  # the store's own trouble: the ledger's error page
        except PaichaError as error:
            if error.code not in ("id_taken", "edit_conflict"):
                return error.message(lang())
            written_meanwhile = error  # read again and update that
    return written_meanwhile.message(lang())
