"""hospital details and summary request ids

Adds the hospital list's departments, bed count and acute stroke care to
organizations, and the idempotency key of the summary request to consent grants.

Revision ID: 0003
Revises: 0002_statistics
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002_statistics'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('departments', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('beds', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('stroke_care', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('consent_grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_consent_grants_client_id_request_id', ['client_id', 'request_id'])


def downgrade() -> None:
    with op.batch_alter_table('consent_grants', schema=None) as batch_op:
        batch_op.drop_constraint('uq_consent_grants_client_id_request_id', type_='unique')
        batch_op.drop_column('request_id')

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('stroke_care')
        batch_op.drop_column('beds')
        batch_op.drop_column('departments')
