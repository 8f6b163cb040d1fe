"""The app's SQL database, and the one way domain code opens a transaction on it.

    reading()   a short read, on a session of its own
    writing()   a read-modify-write, committed at the end of the block (rolled back if it raises)

Each block is the unit of work of one step of a request, on its own session, and nothing outlives
it: no request keeps a snapshot open (on SQLite an open snapshot hides what the request itself has
just written through the store, and keeps the write-ahead log from being checkpointed), so no code
has to roll one back by hand. A request is not wrapped in one transaction from end to end: the
engine's writes take their own transaction on their own connection (`Store.writing`), and on SQLite
a request-long transaction would hold the one writer's lock, or a stale snapshot, across them.
The engine keeps its own `Store.reading/writing`; everything above it opens transactions here.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Session

from sync.store import write_turn
from sync.tables import metadata

# One metadata for the sync engine's tables and the domain's, so one migration history covers both.
db = SQLAlchemy(metadata=metadata)


@contextmanager
def reading() -> Iterator[Session]:
    """A session for reads; its transaction (on SQLite, its snapshot) ends with the block. What it
    loaded stays readable after the block."""
    with Session(bind=db.engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def writing() -> Iterator[Session]:
    """A session for a short read-modify-write, committed when the block ends. On SQLite it starts
    with BEGIN IMMEDIATE (a plain transaction reads first and then cannot upgrade its lock if
    another writer committed meanwhile), and it waits for this process's write turn like the
    store's writers: waiting at SQLite's lock instead means sleeping and retrying, which a burst of
    phones' writes can stretch past SQLite's patience (a login's token during a morning's syncs).
    Functions that write inside the caller's transaction take this session as their `conn`."""
    engine = db.engine
    with write_turn(engine), Session(bind=engine.execution_options(sqlite_immediate=True),
                                     expire_on_commit=False) as session, session.begin():
        yield session
