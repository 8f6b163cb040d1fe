"""After the store went back in time (a backup restored, a standby that had not received everything
promoted), the replicators' checkpoints kept in `_local` documents must not be trusted as they are.

Why. PouchDB (and CouchDB) compare the checkpoint a replication finds on its source with the one on
its target: when both were written by the same replication session, the source's `last_seq` is
taken as it is. A phone that kept one live session across the backup's moment holds a checkpoint of
that session further on than the store's restored one; pushing, the phone is the source, so it would
resume after the writes the store has lost and never send them again.

What this does: the current session of every checkpoint (its `session_id` and the history entries of
that session) gets a new name, so no replicator can take it for its own; the sessions before it are
kept, so a replication resumes from the last one both sides agree on (all of which ended before the
store's moment), or from the start when there is none. Sequence numbers the store hands out later
reuse the lost ones, which is safe for the same reason: a reader resumes from a checkpoint no later
than the store's moment.
"""
from __future__ import annotations

import sqlalchemy as sa

from .jsonio import dumps_stored, loads_stored
from .tables import local_docs


def forget_current_sessions(conn: sa.Connection, mark: str) -> int:
    """Rename the current session of every `_local` checkpoint (`<session>~<mark>`), inside the
    caller's transaction; how many checkpoints changed."""
    changed = 0
    rows = conn.execute(sa.select(local_docs.c.db_id, local_docs.c.owner, local_docs.c.doc_id, local_docs.c.body))
    for row in rows.all():
        body = _renamed(row.body, mark)
        if body is None:
            continue
        conn.execute(local_docs.update()
                     .where(local_docs.c.db_id == row.db_id, local_docs.c.owner == row.owner,
                            local_docs.c.doc_id == row.doc_id)
                     .values(body=body))
        changed += 1
    return changed


def _renamed(stored: str, mark: str) -> str | None:
    try:
        body = loads_stored(stored)
    except ValueError:
        return None
    session = body.get("session_id") if isinstance(body, dict) else None
    if not isinstance(session, str) or not session:
        return None
    renamed = f"{session}~{mark}"
    body["session_id"] = renamed
    history = body.get("history")
    if isinstance(history, list):
        for entry in history:
            if isinstance(entry, dict) and entry.get("session_id") == session:
                entry["session_id"] = renamed
    return dumps_stored(body)
