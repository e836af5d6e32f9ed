"""indicators: the Slot columns they group by, one fact row per Appointment

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOT_COLUMNS = ("res_id", "end_at", "minutes", "service_type", "specialty", "appt_type")
BATCH = 2000


def _surrogate() -> sa.Column[int]:
    return sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True)


def upgrade() -> None:
    with op.batch_alter_table("search_slot") as batch:
        batch.add_column(sa.Column("res_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("end_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("minutes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("service_type", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("specialty", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("appt_type", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_slot_indicators",
        "search_slot",
        ["tenant", "schedule_id", "status", "service_type", "specialty", "kinds", "low", "minutes", "end_at", "res_id"],
    )
    op.create_table('fact_appointment',
    _surrogate(),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('rid', sa.BigInteger(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=64), nullable=True),
    sa.Column('low', sa.DateTime(), nullable=False),
    sa.Column('end_at', sa.DateTime(), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.Column('slot_id', sa.String(length=64), nullable=True),
    sa.Column('patient_id', sa.String(length=64), nullable=True),
    sa.Column('practitioner_id', sa.String(length=64), nullable=True),
    sa.Column('role_id', sa.String(length=64), nullable=True),
    sa.Column('location_id', sa.String(length=64), nullable=True),
    sa.Column('service_type', sa.String(length=64), nullable=True),
    sa.Column('specialty', sa.String(length=64), nullable=True),
    sa.Column('appt_type', sa.String(length=64), nullable=True),
    )  # fmt: skip
    op.create_index(
        "ix_fact_appt_period",
        "fact_appointment",
        ["tenant", "status", "practitioner_id", "role_id", "specialty", "service_type", "low", "slot_id"],
    )
    op.create_index("ix_fact_appt_slot", "fact_appointment", ["slot_id", "status", "location_id"])
    op.create_index("ix_fact_appt_patient", "fact_appointment", ["status", "low", "tenant", "patient_id"])
    op.create_index("ix_fact_appt_owner", "fact_appointment", ["rid"])
    _backfill()


def _backfill() -> None:
    """Slots and Appointments stored before this revision get their columns and rows (the store's own derivation)."""
    from gateway.settings import get_settings
    from gateway.storage.fact_rows import appointment_row, slot_facts

    zone = get_settings().tz
    bind = op.get_bind()
    resource = sa.table('resource', sa.column('rid'), sa.column('res_type'), sa.column('deleted'),
                        sa.column('tenant'), sa.column('content'))  # fmt: skip
    slots = sa.table("search_slot", sa.column("rid"), *(sa.column(c) for c in SLOT_COLUMNS))
    facts = sa.table('fact_appointment', sa.column('res_type'), sa.column('rid'), sa.column('tenant'),
                     sa.column('status'), sa.column('low', sa.DateTime()), sa.column('end_at', sa.DateTime()),
                     sa.column('minutes'), sa.column('slot_id'), sa.column('patient_id'), sa.column('practitioner_id'),
                     sa.column('role_id'), sa.column('location_id'), sa.column('service_type'),
                     sa.column('specialty'), sa.column('appt_type'))  # fmt: skip
    update = (
        sa.update(slots)
        .where(slots.c.rid == sa.bindparam("b_rid"))
        .values({c: sa.bindparam(f"b_{c}", type_=sa.DateTime() if c == "end_at" else None) for c in SLOT_COLUMNS})
    )
    for kind in ("Slot", "Appointment"):
        query = sa.select(resource.c.rid, resource.c.tenant, resource.c.content).where(
            resource.c.res_type == kind, resource.c.deleted.is_(False)
        )
        batch: list[dict[str, object]] = []
        for rid, tenant, content in bind.execute(query.execution_options(yield_per=BATCH)):
            data = orjson.loads(content)
            if kind == "Slot":
                batch.append({"b_rid": rid, **{f"b_{c}": v for c, v in slot_facts(data, zone).items()}})
            else:
                row = appointment_row(data, zone)
                if row is not None:
                    batch.append({"res_type": "Appointment", "rid": rid, "tenant": tenant, **row})
            if len(batch) >= BATCH:
                bind.execute(update if kind == "Slot" else sa.insert(facts), batch)
                batch = []
        if batch:
            bind.execute(update if kind == "Slot" else sa.insert(facts), batch)


def downgrade() -> None:
    op.drop_index("ix_fact_appt_owner", table_name="fact_appointment")
    op.drop_index("ix_fact_appt_patient", table_name="fact_appointment")
    op.drop_index("ix_fact_appt_slot", table_name="fact_appointment")
    op.drop_index("ix_fact_appt_period", table_name="fact_appointment")
    op.drop_table("fact_appointment")
    op.drop_index("ix_slot_indicators", table_name="search_slot")
    with op.batch_alter_table("search_slot") as batch:
        for column in reversed(SLOT_COLUMNS):
            batch.drop_column(column)
