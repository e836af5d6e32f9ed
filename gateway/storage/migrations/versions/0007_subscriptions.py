"""subscriptions: subscribers, the notification outbox, delivery attempts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('subscription',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('criteria_type', sa.String(length=64), nullable=False),
    sa.Column('criteria', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('endpoint', sa.Text(), nullable=False),
    sa.Column('payload', sa.String(length=64), nullable=True),
    sa.Column('headers', sa.Text(), nullable=False),
    sa.Column('subscriber', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('practitioner_id', sa.String(length=64), nullable=True),
    sa.Column('structures', sa.Text(), nullable=False),
    sa.Column('profession', sa.String(length=16), nullable=True),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('unrestricted', sa.Boolean(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_subscription_active', 'subscription', ['criteria_type', 'status'], unique=False)
    op.create_table('subscription_delivery',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('subscription_id', sa.String(length=64), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('res_id', sa.String(length=64), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_subscription_delivery_due', 'subscription_delivery', ['status', 'due_at'], unique=False)
    op.create_index('ix_subscription_delivery_subscription', 'subscription_delivery', ['subscription_id', 'created_at'],
                    unique=False)  # fmt: skip
    op.create_table('subscription_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.String(length=36), nullable=False),
    sa.Column('subscription_id', sa.String(length=64), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('content', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_subscription_attempt_delivery', 'subscription_attempt', ['delivery_id', 'attempt'],
                    unique=False)  # fmt: skip
    op.create_index('ix_subscription_attempt_subscription_id', 'subscription_attempt', ['subscription_id'],
                    unique=False)  # fmt: skip


def downgrade() -> None:
    op.drop_index('ix_subscription_attempt_subscription_id', table_name='subscription_attempt')
    op.drop_index('ix_subscription_attempt_delivery', table_name='subscription_attempt')
    op.drop_table('subscription_attempt')
    op.drop_index('ix_subscription_delivery_subscription', table_name='subscription_delivery')
    op.drop_index('ix_subscription_delivery_due', table_name='subscription_delivery')
    op.drop_table('subscription_delivery')
    op.drop_index('ix_subscription_active', table_name='subscription')
    op.drop_table('subscription')
