"""capacity: the SNP index carries each Slot's coded tokens, so a specialty or service-type filter reads no table row

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SNP_ROWS = "kinds LIKE '% SNP %'"
COLUMNS = ["status", "low", "rid", "tenant", "schedule_id", "kinds"]


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
    # Longer texts than the store now writes (slot_rows.CODES_MAX) would not fit an index entry on PostgreSQL; a row
    # without the text is filtered by probing the token index, as before.
    size = "length(CAST(codes AS BLOB))" if op.get_bind().dialect.name == "sqlite" else "octet_length(codes)"
    op.execute(sa.text(f"UPDATE search_slot SET codes = NULL WHERE {size} > 1000"))
    _snp_index([*COLUMNS, "codes"])


def downgrade() -> None:
    _snp_index(COLUMNS)
