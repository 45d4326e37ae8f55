"""The prepared Alembic revision creates exactly the tables of the statistics models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import MetaData, Table, create_engine

from hub.database import upgrade_schema
from hub.statistics import migration_0002
from hub.statistics.models import STATISTICS_TABLES


def test_revision_matches_models(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    upgrade_schema(engine)
    with engine.begin() as connection:
        context = MigrationContext.configure(connection)
        with Operations.context(context):
            migration_0002.upgrade()

        metadata = MetaData()
        for table in STATISTICS_TABLES:
            table.to_metadata(metadata)
        names = {table.name for table in STATISTICS_TABLES}
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [difference for difference in compare_metadata(context, metadata) if _table_of(difference) in names]
    assert differences == []


def _table_of(difference) -> str:
    """Return the table name of one compare_metadata() entry (modify entries come as lists)."""
    if isinstance(difference, list):
        difference = difference[0]
    if len(difference) >= 3 and isinstance(difference[2], str):
        return difference[2]

    item = difference[1]
    return item.name if isinstance(item, Table) else item.table.name


def test_revision_downgrade_drops_all(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    upgrade_schema(engine)
    with engine.begin() as connection:
        with Operations.context(MigrationContext.configure(connection)):
            migration_0002.upgrade()
            migration_0002.downgrade()
        remaining = set(engine.dialect.get_table_names(connection))
    assert not {table.name for table in STATISTICS_TABLES} & remaining
