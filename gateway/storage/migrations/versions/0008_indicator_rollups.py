"""indicators: daily rollups of slots and appointments, the marks of stale days, day-first fact indexes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOT_DAY_INDEX = ["low", "tenant", "schedule_id", "status", "service_type", "specialty", "kinds", "minutes", "end_at",
                  "res_id"]  # fmt: skip
APPT_DAY_INDEX = ["low", "tenant", "status", "practitioner_id", "role_id", "specialty", "service_type", "slot_id",
                  "location_id"]  # fmt: skip


def _surrogate() -> sa.Column[int]:
    return sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True)


def upgrade() -> None:
    # The rollups are built on the first refresh (no indicator_rollup_state row): nothing to backfill here.
    op.drop_index("ix_slot_indicators", table_name="search_slot")
    op.create_index("ix_slot_indicators", "search_slot", SLOT_DAY_INDEX)
    op.drop_index("ix_fact_appt_period", table_name="fact_appointment")
    op.create_index("ix_fact_appt_period", "fact_appointment", APPT_DAY_INDEX)
    op.create_table('indicator_slot_day',
    _surrogate(),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('schedule_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=64), nullable=True),
    sa.Column('service_type', sa.String(length=64), nullable=True),
    sa.Column('specialty', sa.String(length=64), nullable=True),
    sa.Column('snp', sa.Boolean(), nullable=False),
    sa.Column('room', sa.String(length=64), nullable=True),
    sa.Column('slots', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.BigInteger(), nullable=False),
    sa.Column('overflow', sa.BigInteger(), nullable=False),
    )  # fmt: skip
    op.create_index("ix_slot_day", "indicator_slot_day", ["day", "tenant"])
    op.create_table('indicator_appt_day',
    _surrogate(),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=64), nullable=True),
    sa.Column('practitioner_id', sa.String(length=64), nullable=True),
    sa.Column('role_id', sa.String(length=64), nullable=True),
    sa.Column('specialty', sa.String(length=64), nullable=True),
    sa.Column('service_type', sa.String(length=64), nullable=True),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.Column('appointments', sa.Integer(), nullable=False),
    )  # fmt: skip
    op.create_index("ix_appt_day", "indicator_appt_day", ["day", "tenant"])
    op.create_table('indicator_dirty',
    _surrogate(),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    )  # fmt: skip
    op.create_table('indicator_rollup_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('built_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("indicator_rollup_state")
    op.drop_table("indicator_dirty")
    op.drop_index("ix_appt_day", table_name="indicator_appt_day")
    op.drop_table("indicator_appt_day")
    op.drop_index("ix_slot_day", table_name="indicator_slot_day")
    op.drop_table("indicator_slot_day")
    op.drop_index("ix_fact_appt_period", table_name="fact_appointment")
    op.create_index(
        "ix_fact_appt_period",
        "fact_appointment",
        ["tenant", "status", "practitioner_id", "role_id", "specialty", "service_type", "low", "slot_id"],
    )
    op.drop_index("ix_slot_indicators", table_name="search_slot")
    op.create_index(
        "ix_slot_indicators",
        "search_slot",
        ["tenant", "schedule_id", "status", "service_type", "specialty", "kinds", "low", "minutes", "end_at", "res_id"],
    )
