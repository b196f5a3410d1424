"""Alembic environment of specmill's own tables (the run index and the artifacts).

The database URL comes from the caller (`records.upgrade`, `specmill db upgrade`), or
from specmill's settings when alembic is run by hand with `alembic -c migrations/alembic.ini`.
Versions are tracked in `specmill_alembic_version`, so specmill's tables can share a database
with DBOS's and with an application's own alembic history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from specmill import records
from specmill.records import metadata, sqlalchemy_url

VERSION_TABLE = records.VERSION_TABLE
PG_LOCK_KEY = 0x5EC_A11  # one migrating process at a time on PostgreSQL


def _url() -> str:
    url = context.config.attributes.get("url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        from specmill.config import Settings

        settings = Settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        url = settings.records_url()
    return sqlalchemy_url(url)


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, version_table=VERSION_TABLE, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = sa.create_engine(_url(), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
