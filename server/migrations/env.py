"""Alembic environment: always runs on a connection handed over by `server.migrations`."""
from alembic import context

from server.core import models  # noqa: F401  (registers the domain tables on the shared metadata)
from server.services.calendar import tables as _calendar_tables  # noqa: F401
from server.services.geo import tables as _geo_tables  # noqa: F401
from server.services.matters import tables as _matter_tables  # noqa: F401
from server.services.search import tables as _search_tables  # noqa: F401
from sync.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through server.migrations (flask db upgrade), not the alembic CLI.")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
