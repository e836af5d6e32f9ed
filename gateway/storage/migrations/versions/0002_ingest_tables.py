"""ingest tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dead_letter',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('location', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('replayed_at', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id', 'seq', name='uq_dead_letter_record')
    )
    with op.batch_alter_table('dead_letter', schema=None) as batch_op:
        batch_op.create_index('ix_dead_letter_status', ['status', 'created_at'], unique=False)

    op.create_table('ingest_control_id',
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('sender', sa.String(length=255), nullable=False),
    sa.Column('control_id', sa.String(length=199), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('tenant', 'sender', 'control_id')
    )
    op.create_table('ingest_job',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('cursor', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('duplicate', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ingest_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingest_job_message_id'), ['message_id'], unique=False)
        batch_op.create_index('ix_ingest_job_status', ['status', 'created_at'], unique=False)

    op.create_table('ingest_message',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('export', sa.String(length=32), nullable=True),
    sa.Column('vendor', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant', 'idempotency_key', name='uq_ingest_message_idempotency')
    )
    with op.batch_alter_table('ingest_message', schema=None) as batch_op:
        batch_op.create_index('ix_ingest_message_sha', ['tenant', 'sha256'], unique=False)

    op.create_table('ingest_record',
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('location', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resources', sa.Text(), nullable=False),
    sa.Column('issues', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('job_id', 'seq')
    )


def downgrade() -> None:
    op.drop_table('ingest_record')
    with op.batch_alter_table('ingest_message', schema=None) as batch_op:
        batch_op.drop_index('ix_ingest_message_sha')

    op.drop_table('ingest_message')
    with op.batch_alter_table('ingest_job', schema=None) as batch_op:
        batch_op.drop_index('ix_ingest_job_status')
        batch_op.drop_index(batch_op.f('ix_ingest_job_message_id'))

    op.drop_table('ingest_job')
    op.drop_table('ingest_control_id')
    with op.batch_alter_table('dead_letter', schema=None) as batch_op:
        batch_op.drop_index('ix_dead_letter_status')

    op.drop_table('dead_letter')
