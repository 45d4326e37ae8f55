"""Alembic revision that creates the statistics tables (``hub/statistics/models.py``).

``tests/statistics/test_migration.py`` checks that it matches the models.

Revision ID: 0002_statistics
Revises: 0001
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002_statistics"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "stat_import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fire_department_code", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stat_import_batches_fire_department_code", "stat_import_batches", ["fire_department_code"])

    op.create_table(
        "stat_activity_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fire_department_code", sa.String(length=32), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("station", sa.String(length=120), nullable=True),
        sa.Column("unit", sa.String(length=120), nullable=True),
        sa.Column("age_band", sa.String(length=16), nullable=True),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.Column("jcs", sa.String(length=16), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("call_received", sa.DateTime(), nullable=True),
        sa.Column("arrived_scene", sa.DateTime(), nullable=True),
        sa.Column("departed_scene", sa.DateTime(), nullable=True),
        sa.Column("handover", sa.DateTime(), nullable=True),
        sa.Column("inquiry_count", sa.Integer(), nullable=True),
        sa.Column("myna_attempted", sa.Boolean(), nullable=False),
        sa.Column("myna_card_present", sa.Boolean(), nullable=False),
        sa.Column("myna_card_read", sa.Boolean(), nullable=False),
        sa.Column("myna_linked", sa.Boolean(), nullable=False),
        sa.Column("myna_viewed", sa.Boolean(), nullable=False),
        sa.Column("myna_consent_mode", sa.String(length=16), nullable=True),
        sa.Column("myna_stop_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["stat_import_batches.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fire_department_code", "incident_id"),
    )
    op.create_index("ix_stat_activity_records_fire_department_code", "stat_activity_records", ["fire_department_code"])

    op.create_table(
        "stat_fdma_weekly",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("prefecture", sa.String(length=8), nullable=False),
        sa.Column("department_name", sa.String(length=120), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("week_end", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("level", "prefecture", "department_name", "week_start"),
    )

    op.create_table(
        "stat_unit_stations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fire_department_code", sa.String(length=32), nullable=False),
        sa.Column("unit_name", sa.String(length=120), nullable=False),
        sa.Column("station_name", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fire_department_code", "unit_name"),
    )
    op.create_index("ix_stat_unit_stations_fire_department_code", "stat_unit_stations", ["fire_department_code"])

    op.create_table(
        "stat_department_profiles",
        sa.Column("fire_department_code", sa.String(length=32), nullable=False),
        sa.Column("prefecture", sa.String(length=8), nullable=False),
        sa.Column("fdma_department_name", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("fire_department_code"),
    )


def downgrade() -> None:
    op.drop_table("stat_department_profiles")
    op.drop_index("ix_stat_unit_stations_fire_department_code", table_name="stat_unit_stations")
    op.drop_table("stat_unit_stations")
    op.drop_table("stat_fdma_weekly")
    op.drop_index("ix_stat_activity_records_fire_department_code", table_name="stat_activity_records")
    op.drop_table("stat_activity_records")
    op.drop_index("ix_stat_import_batches_fire_department_code", table_name="stat_import_batches")
    op.drop_table("stat_import_batches")
