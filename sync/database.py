"""One database opened for one user: every read is limited to the user's scopes, every write is
checked by the host's rules, and the changes feed never skips a committed change.

The handle is put together from modules of one purpose each: `handle` (the user's scope, rows
found within it), `reads`, `writes` (the write pipeline), `local_docs` (`_local` documents) and
`changes` (the feed); `sql` holds the statements they run. Its methods answer typed results and
events (`results`), which the CouchDB HTTP views turn into CouchDB's JSON (`wire`).
"""
from __future__ import annotations

from typing import Iterator

from .changes import ChangesFeed, ChangesOptions
from .reads import DocumentReads
from .results import ChangeEvent
from .writes import DocumentWrites


class Database(DocumentReads, DocumentWrites):
    def changes(self, options: ChangesOptions) -> Iterator[ChangeEvent]:
        """The feed's events: `Change`s, `Heartbeat`s and `Idle`s, then one `LastSeq`."""
        return ChangesFeed(self, options).events()
