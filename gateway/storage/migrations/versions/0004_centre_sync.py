"""centre sync: last successful ingest per centre and source kind

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('centre_sync',
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('source_kind', sa.String(length=48), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('duplicate', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('tenant', 'source_kind')
    )


def downgrade() -> None:
    op.drop_table('centre_sync')
