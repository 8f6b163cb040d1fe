"""Flask extensions, created once and bound in `create_app`."""
from flask_sqlalchemy import SQLAlchemy

from sync.tables import metadata

# One metadata for the sync engine's tables and the domain's, so one migration history covers both.
db = SQLAlchemy(metadata=metadata)


def write_session():
    """A session for a short read-modify-write. On SQLite it starts with BEGIN IMMEDIATE: a plain
    session reads first and then cannot upgrade its lock if another writer committed meanwhile."""
    from sqlalchemy.orm import Session

    return Session(bind=db.engine.execution_options(sqlite_immediate=True), expire_on_commit=False)
