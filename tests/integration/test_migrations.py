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


def test_a_store_a_newer_version_migrated_is_served_as_it_is(engine):
    """A rolling upgrade: the first new host migrated the store; an old host that (re)starts serves
    it without migrating, and is ready."""
    from server.core.health import check_ready

    upgrade_to_head(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_a_newer_version'"))
    upgrade_to_head(engine)  # no "Can't locate revision": served as it is
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "9999_a_newer_version"
    assert check_ready(engine)["ready"] is True
