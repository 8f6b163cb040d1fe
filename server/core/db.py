"""Flask extensions, created once and bound in `create_app`."""
from contextlib import contextmanager

from flask_sqlalchemy import SQLAlchemy

from sync.store import write_turn
from sync.tables import metadata

# One metadata for the sync engine's tables and the domain's, so one migration history covers both.
db = SQLAlchemy(metadata=metadata)


@contextmanager
def write_session():
    """A session for a short read-modify-write. On SQLite it starts with BEGIN IMMEDIATE (a plain
    session reads first and then cannot upgrade its lock if another writer committed meanwhile),
    and it waits for this process's write turn like the store's writers: waiting at SQLite's lock
    instead means sleeping and retrying, which a burst of phones' writes can stretch past SQLite's
    patience (a login's token during a morning's syncs)."""
    from sqlalchemy.orm import Session

    engine = db.engine
    with write_turn(engine), Session(bind=engine.execution_options(sqlite_immediate=True),
                                     expire_on_commit=False) as session:
        yield session
