"""The per-centre sync table: the last ingest job of each source kind that finished without a fatal error.

One row per tenant (centre FINESS) and source kind (``hl7v2``, ``csv:<export>``, ``fhir``), overwritten by each
such job; capacity views read it to tell how fresh a centre's slots are (gateway/capacity/freshness.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel


class CentreSyncRow(SQLModel, table=True):
    """The last successful sync of one source kind of one centre."""

    __tablename__ = "centre_sync"

    tenant: str = Field(primary_key=True, max_length=64)
    source_kind: str = Field(primary_key=True, max_length=48)  # hl7v2 | csv:<export> | fhir
    synced_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))  # UTC, naive
    job_id: str = Field(max_length=36)
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0


__all__ = ["CentreSyncRow"]
