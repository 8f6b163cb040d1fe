"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import server.core.models as models  # noqa: F401  (domain tables on the shared metadata)
from server.core.migrate import upgrade_to_head
from sync.tables import metadata


def _load_all_models():
    import importlib
    import pkgutil

    import server

    for module in pkgutil.walk_packages(server.__path__, "server."):
        if module.name.endswith(("models", "tables")) or ".models" in module.name:
            importlib.import_module(module.name)


def test_migrations_match_the_declared_schema(engine):
    upgrade_to_head(engine)
    upgrade_to_head(engine)  # a second run is a no-op
    _load_all_models()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []
    assert "sync_documents" in sa.inspect(engine).get_table_names()
