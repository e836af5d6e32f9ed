"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # rids of new resources (SQLite takes max + 1 under its write lock)
        op.execute("CREATE SEQUENCE resource_rid_seq")
    op.create_table('resource',
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('res_id', sa.String(length=64), nullable=False),
    sa.Column('rid', sa.BigInteger(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('last_updated', sa.DateTime(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('res_type', 'res_id'),
    sa.UniqueConstraint('rid')
    )
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.create_index('ix_resource_tenant', ['tenant', 'res_type'], unique=False)
        batch_op.create_index('ix_resource_type_updated', ['res_type', 'last_updated', 'res_id'], unique=False)

    op.create_table('resource_version',
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('res_id', sa.String(length=64), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('last_updated', sa.DateTime(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('res_type', 'res_id', 'version_id')
    )
    with op.batch_alter_table('resource_version', schema=None) as batch_op:
        batch_op.create_index('ix_version_type_updated', ['res_type', 'last_updated'], unique=False)
        batch_op.create_index('ix_version_updated', ['last_updated'], unique=False)

    op.create_table('search_date',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('rid', sa.BigInteger(), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('low', sa.DateTime(), nullable=False),
    sa.Column('high', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('search_date', schema=None) as batch_op:
        batch_op.create_index('ix_date_status', ['res_type', 'param', 'status', 'low', 'high', 'rid'], unique=False)
        batch_op.create_index('ix_date_high', ['res_type', 'param', 'high'], unique=False)
        batch_op.create_index('ix_date_low', ['res_type', 'param', 'low', 'high', 'rid'], unique=False)
        batch_op.create_index('ix_date_owner', ['rid', 'param'], unique=False)

    op.create_table('search_number',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('rid', sa.BigInteger(), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('system', sa.String(length=255), nullable=True),
    sa.Column('code', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('search_number', schema=None) as batch_op:
        batch_op.create_index('ix_number_lookup', ['res_type', 'param', 'value'], unique=False)
        batch_op.create_index('ix_number_owner', ['rid', 'param'], unique=False)

    op.create_table('search_reference',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('rid', sa.BigInteger(), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=64), nullable=True),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('url', sa.String(length=512), nullable=True),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('search_reference', schema=None) as batch_op:
        batch_op.create_index('ix_reference_owner', ['rid', 'param'], unique=False)
        batch_op.create_index('ix_reference_target', ['res_type', 'param', 'target_type', 'target_id'], unique=False)

    op.create_table('search_string',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('rid', sa.BigInteger(), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=512), nullable=False),
    sa.Column('exact', sa.String(length=512), nullable=False),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('search_string', schema=None) as batch_op:
        batch_op.create_index('ix_string_lookup', ['res_type', 'param', 'value'], unique=False)
        batch_op.create_index('ix_string_owner', ['rid', 'param'], unique=False)

    op.create_table('search_token',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('rid', sa.BigInteger(), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('system', sa.String(length=255), nullable=True),
    sa.Column('code', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('search_token', schema=None) as batch_op:
        batch_op.create_index('ix_token_lookup', ['res_type', 'param', 'code', 'system', 'rid'], unique=False)
        batch_op.create_index('ix_token_owner', ['rid', 'param', 'code'], unique=False)



def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE resource_rid_seq")
    with op.batch_alter_table('search_token', schema=None) as batch_op:
        batch_op.drop_index('ix_token_owner')
        batch_op.drop_index('ix_token_lookup')

    op.drop_table('search_token')
    with op.batch_alter_table('search_string', schema=None) as batch_op:
        batch_op.drop_index('ix_string_owner')
        batch_op.drop_index('ix_string_lookup')

    op.drop_table('search_string')
    with op.batch_alter_table('search_reference', schema=None) as batch_op:
        batch_op.drop_index('ix_reference_target')
        batch_op.drop_index('ix_reference_owner')

    op.drop_table('search_reference')
    with op.batch_alter_table('search_number', schema=None) as batch_op:
        batch_op.drop_index('ix_number_owner')
        batch_op.drop_index('ix_number_lookup')

    op.drop_table('search_number')
    with op.batch_alter_table('search_date', schema=None) as batch_op:
        batch_op.drop_index('ix_date_owner')
        batch_op.drop_index('ix_date_status')
        batch_op.drop_index('ix_date_low')
        batch_op.drop_index('ix_date_high')

    op.drop_table('search_date')
    with op.batch_alter_table('resource_version', schema=None) as batch_op:
        batch_op.drop_index('ix_version_updated')
        batch_op.drop_index('ix_version_type_updated')

    op.drop_table('resource_version')
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.drop_index('ix_resource_type_updated')
        batch_op.drop_index('ix_resource_tenant')

    op.drop_table('resource')
