"""capacity: one search row per Slot, and the directory counters

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SNP_ROWS = "kinds LIKE '% SNP %'"
DIRECTORY_TYPES = ("HealthcareService", "Location", "Organization", "Practitioner", "PractitionerRole", "Schedule")


def _surrogate() -> sa.Column[int]:
    return sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table('search_slot',
    _surrogate(),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('rid', sa.BigInteger(), nullable=False),
    sa.Column('schedule_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=64), nullable=True),
    sa.Column('low', sa.DateTime(), nullable=False),
    sa.Column('high', sa.DateTime(), nullable=False),
    sa.Column('kinds', sa.String(length=255), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    )
    op.create_index('ix_slot_schedule', 'search_slot', ['schedule_id', 'status', 'low', 'rid'])
    op.create_index('ix_slot_status', 'search_slot', ['status', 'low', 'rid', 'kinds', 'schedule_id', 'tenant'])
    op.create_index('ix_slot_owner', 'search_slot', ['rid'])
    op.create_index('ix_slot_snp', 'search_slot', ['status', 'low', 'rid', 'tenant', 'schedule_id'],
                    sqlite_where=sa.text(SNP_ROWS), postgresql_where=sa.text(SNP_ROWS))  # fmt: skip
    version = op.create_table('directory_version',
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('res_type'),
    )
    op.bulk_insert(version, [{'res_type': kind, 'version': 0} for kind in DIRECTORY_TYPES])
    _backfill()


def _backfill() -> None:
    """Slots stored before this revision get their row (the same derivation the store applies on write)."""
    from gateway.settings import get_settings
    from gateway.storage.slot_rows import slot_row

    zone = get_settings().tz
    bind = op.get_bind()
    resource = sa.table('resource', sa.column('rid'), sa.column('res_type'), sa.column('deleted'),
                        sa.column('tenant'), sa.column('content'))  # fmt: skip
    slots = sa.table('search_slot', sa.column('res_type'), sa.column('rid'), sa.column('schedule_id'),
                     sa.column('status'), sa.column('low', sa.DateTime()), sa.column('high', sa.DateTime()),
                     sa.column('kinds'), sa.column('tenant'))  # fmt: skip
    query = sa.select(resource.c.rid, resource.c.tenant, resource.c.content).where(
        resource.c.res_type == 'Slot', resource.c.deleted.is_(False)
    )
    batch: list[dict[str, object]] = []
    for rid, tenant, content in bind.execute(query.execution_options(yield_per=2000)):
        row = slot_row(orjson.loads(content), zone)
        if row is not None:
            batch.append({'res_type': 'Slot', 'rid': rid, 'tenant': tenant, **row})
        if len(batch) >= 2000:
            bind.execute(sa.insert(slots), batch)
            batch = []
    if batch:
        bind.execute(sa.insert(slots), batch)


def downgrade() -> None:
    op.drop_table('directory_version')
    op.drop_index('ix_slot_snp', table_name='search_slot')
    op.drop_index('ix_slot_owner', table_name='search_slot')
    op.drop_index('ix_slot_status', table_name='search_slot')
    op.drop_index('ix_slot_schedule', table_name='search_slot')
    op.drop_table('search_slot')
