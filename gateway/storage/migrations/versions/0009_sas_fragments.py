"""capacity: each Slot's SAS rendering and coded tokens with its search_slot row; covering capacity indexes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SNP_ROWS = "kinds LIKE '% SNP %'"
BATCH = 2000


def _indexes(kinds: bool) -> None:
    """(Re)create the two capacity indexes, with ``kinds`` as their last column or without it."""
    extra = ["kinds"] if kinds else []
    op.drop_index("ix_slot_schedule", table_name="search_slot")
    op.create_index("ix_slot_schedule", "search_slot", ["schedule_id", "status", "low", "rid", *extra])
    op.drop_index("ix_slot_snp", table_name="search_slot")
    op.create_index(
        "ix_slot_snp",
        "search_slot",
        ["status", "low", "rid", "tenant", "schedule_id", *extra],
        sqlite_where=sa.text(SNP_ROWS),
        postgresql_where=sa.text(SNP_ROWS),
    )


def upgrade() -> None:
    op.add_column("search_slot", sa.Column("sas", sa.Text(), nullable=True))
    op.add_column("search_slot", sa.Column("links", sa.Text(), nullable=True))
    op.add_column("search_slot", sa.Column("codes", sa.Text(), nullable=True))
    _indexes(kinds=True)
    _backfill()


def _backfill() -> None:
    """Slots stored before this revision get their new columns (the store's own derivation)."""
    from gateway.settings import get_settings
    from gateway.storage.indexer import index_resource

    zone = get_settings().tz
    bind = op.get_bind()
    resource = sa.table("resource", sa.column("rid"), sa.column("res_type"), sa.column("deleted"), sa.column("content"))
    slots = sa.table("search_slot", sa.column("rid"), sa.column("sas"), sa.column("links"), sa.column("codes"))
    update = (
        sa.update(slots)
        .where(slots.c.rid == sa.bindparam("b_rid"))
        .values(sas=sa.bindparam("b_sas"), links=sa.bindparam("b_links"), codes=sa.bindparam("b_codes"))
    )
    query = sa.select(resource.c.rid, resource.c.content).where(
        resource.c.res_type == "Slot", resource.c.deleted.is_(False)
    )
    batch: list[dict[str, object]] = []
    for rid, content in bind.execute(query.execution_options(yield_per=BATCH)):
        derived = index_resource(orjson.loads(content), zone).slot
        if derived:
            row = derived[0]
            batch.append({"b_rid": rid, "b_sas": row["sas"], "b_links": row["links"], "b_codes": row["codes"]})
        if len(batch) >= BATCH:
            bind.execute(update, batch)
            batch = []
    if batch:
        bind.execute(update, batch)


def downgrade() -> None:
    _indexes(kinds=False)
    with op.batch_alter_table("search_slot") as batch:
        batch.drop_column("codes")
        batch.drop_column("links")
        batch.drop_column("sas")
