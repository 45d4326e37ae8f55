"""Schema management of the hub: Alembic migrations on SQLite or PostgreSQL.

The hub never calls ``create_all``: the schema of every database, the demo's,
a deployment's and each test's, comes from the migrations in ``hub/migrations``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Key of the PostgreSQL advisory lock that serialises migrations of several hub
# processes starting at once (an arbitrary constant, the same in every process).
MIGRATION_LOCK_KEY = 0x6D796E61


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision`` (the newest by default)."""
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})

        _reject_unmigrated_database(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    logger.info("hub schema migrated to %s on %s", revision, engine.dialect.name)


def _reject_unmigrated_database(connection) -> None:
    # A database made by create_all before migrations existed has tables but no
    # alembic_version; migrating it would fail halfway on "table already exists".
    tables = set(inspect(connection).get_table_names())
    if tables and "alembic_version" not in tables:
        raise RuntimeError(
            f"database at {connection.engine.url.render_as_string(hide_password=True)} has hub tables but no "
            "alembic_version: it predates migrations. Move it aside and run scripts/setup_demo.py again."
        )
