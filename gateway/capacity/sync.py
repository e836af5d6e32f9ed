"""Recording a centre's successful syncs: called once by the ingest pipeline when a job finishes.

A job counts when it finished without a fatal error (status ``done`` and no payload-level error in its summary):
rejected rows do not make a sync unsuccessful, a refused or truncated payload does. The row of its tenant and
source kind is overwritten unless a job that finished later already wrote it (jobs of one centre may finish out of
order on several workers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from gateway.capacity.models import CentreSyncRow
from gateway.ingest.jobs import JOB
from gateway.storage.db import write_transaction
from gateway.storage.directory_version import bump_sync

SYNC = CentreSyncRow.__table__  # type: ignore[attr-defined]


def source_kind(format: str, export: str | None) -> str:
    """``hl7v2``, ``fhir`` or ``csv:<export>``."""
    return f"csv:{export}" if format == "csv" and export else format


def record_sync(conn: Connection, *, tenant: str, kind: str, job_id: str, at: datetime, counts: dict[str, int]) -> None:
    """Upsert the sync row of (tenant, kind); ``at`` is naive UTC like the job table's times."""
    values: dict[str, Any] = {
        "tenant": tenant,
        "source_kind": kind[:48],
        "synced_at": at,
        "job_id": job_id,
        "accepted": counts.get("accepted", 0),
        "duplicate": counts.get("duplicate", 0),
        "rejected": counts.get("rejected", 0),
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(SYNC).values(**values)
    changed = {key: statement.excluded[key] for key in ("synced_at", "job_id", "accepted", "duplicate", "rejected")}
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[SYNC.c.tenant, SYNC.c.source_kind],
            set_=changed,
            where=SYNC.c.synced_at <= statement.excluded.synced_at,
        )
    )
    bump_sync(conn)  # the processes' cached freshness (gateway/capacity/freshness.py) is out of date


def job_synced(engine: Engine, job_id: str, format: str, export: str | None) -> None:
    """The pipeline's hook: a job just finished without a fatal error; record it with its final counts."""
    with write_transaction(engine) as conn:
        row = conn.execute(
            select(JOB.c.tenant, JOB.c.finished_at, JOB.c.accepted, JOB.c.duplicate, JOB.c.rejected).where(
                JOB.c.id == job_id
            )
        ).first()
        if row is None or row.finished_at is None:
            return
        counts = {"accepted": row.accepted, "duplicate": row.duplicate, "rejected": row.rejected}
        record_sync(
            conn, tenant=row.tenant, kind=source_kind(format, export), job_id=job_id, at=row.finished_at, counts=counts
        )


__all__ = ["SYNC", "job_synced", "record_sync", "source_kind"]
