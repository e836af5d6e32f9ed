"""capacity: the SNP index carries each Slot's end bound too, so a coordinator page and its count read no table row

A date search keeps a Slot that starts before the window but is still running at its start (``high``); without that
column PostgreSQL fetched every scanned row from the table (an index scan of ~2,000 rows for a day of SNP slots
narrowed by a service type: 6.5 ms, against 2 ms from the index alone).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SNP_ROWS = "kinds LIKE '% SNP %'"
COLUMNS = ["status", "low", "rid", "tenant", "schedule_id", "kinds", "codes"]


def _snp_index(columns: list[str]) -> None:
    op.drop_index("ix_slot_snp", table_name="search_slot")
    op.create_index(
        "ix_slot_snp",
        "search_slot",
        columns,
        sqlite_where=sa.text(SNP_ROWS),
        postgresql_where=sa.text(SNP_ROWS),
    )


def upgrade() -> None:
    _snp_index([*COLUMNS, "high"])


def downgrade() -> None:
    _snp_index(COLUMNS)
