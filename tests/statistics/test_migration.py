"""The statistics revision creates exactly the tables of the statistics models."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import MetaData, Table, create_engine

from hub.database import upgrade_schema
from hub.statistics.models import STATISTICS_TABLES

REVISION_FILE = Path(__file__).resolve().parents[2] / "hub" / "migrations" / "versions" / "0002_statistics.py"


def _load_revision():
    # Revision files start with a digit, so they cannot be imported by name.
    spec = importlib.util.spec_from_file_location("revision_0002_statistics", REVISION_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


migration_0002 = _load_revision()


def test_revision_matches_models(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    upgrade_schema(engine)
    with engine.begin() as connection:
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
            migration_0002.downgrade()
        remaining = set(engine.dialect.get_table_names(connection))
    assert not {table.name for table in STATISTICS_TABLES} & remaining
