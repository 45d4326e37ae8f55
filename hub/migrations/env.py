"""Alembic environment of the hub.

The hub runs migrations in-process (:func:`hub.database.upgrade_schema`), which
hands over an open connection in ``config.attributes["connection"]``. Without
one, the URL comes from ``HUB_DATABASE_URL`` (used when generating a revision
with the ``alembic`` command and ``-x`` nothing else).
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from hub.models import Base, UtcDateTime

target_metadata = Base.metadata


def render_item(kind: str, item, autogen_context):
    # UtcDateTime is a plain DateTime column; revisions must not import hub.models.
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime()"

    return False


def run_with(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    engine = create_engine(os.environ["HUB_DATABASE_URL"])
    with engine.connect() as fresh_connection:
        run_with(fresh_connection)
