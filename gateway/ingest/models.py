"""Ingest tables: raw payloads (stored before parsing), jobs, per-record outcomes, dead letters, control ids.

Everything a gateway process must share with the others lives here, so N processes on one PostgreSQL can take
jobs with ``SELECT ... FOR UPDATE SKIP LOCKED`` leases and a killed process loses nothing it acknowledged.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class IngestMessageRow(SQLModel, table=True):
    """A received payload, byte for byte, committed before anything reads it."""

    __tablename__ = "ingest_message"
    __table_args__ = (
        UniqueConstraint("tenant", "idempotency_key", name="uq_ingest_message_idempotency"),
        Index("ix_ingest_message_sha", "tenant", "sha256"),
    )

    id: str = Field(primary_key=True, max_length=36)
    tenant: str = Field(max_length=64)
    format: str = Field(max_length=16)  # hl7v2 | csv | fhir
    export: str | None = Field(default=None, max_length=32)
    vendor: str | None = Field(default=None, max_length=64)
    source: str = Field(max_length=255)  # file name, "http", "mllp:<peer>"
    sha256: str = Field(max_length=64)
    size: int
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    idempotency_key: str | None = Field(default=None, max_length=255)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class IngestJobRow(SQLModel, table=True):
    """The processing of one message: leased by one worker at a time, resumable from ``cursor``."""

    __tablename__ = "ingest_job"
    __table_args__ = (Index("ix_ingest_job_status", "status", "created_at"),)

    id: str = Field(primary_key=True, max_length=36)
    message_id: str = Field(max_length=36, index=True)
    tenant: str = Field(max_length=64)
    status: str = Field(max_length=16)  # queued | running | done | failed
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False)))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False)))
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False)))
    attempts: int = 0
    cursor: int = 0  # records fully processed and committed
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    summary: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON: encoding, unused fields, ...


class IngestRecordRow(SQLModel, table=True):
    """The outcome of one record (message, row, entry) of a job."""

    __tablename__ = "ingest_record"

    job_id: str = Field(primary_key=True, max_length=36)
    seq: int = Field(primary_key=True)
    location: str = Field(max_length=255)
    status: str = Field(max_length=16)  # accepted | duplicate | rejected
    resources: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of "Type/id/_history/v"
    issues: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON OperationOutcome issues


class DeadLetterRow(SQLModel, table=True):
    """A record that failed, with everything needed to replay it after a mapping fix."""

    __tablename__ = "dead_letter"
    __table_args__ = (
        UniqueConstraint("message_id", "seq", name="uq_dead_letter_record"),
        Index("ix_dead_letter_status", "status", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=36)
    tenant: str = Field(max_length=64)
    message_id: str = Field(max_length=36)
    job_id: str = Field(max_length=36)
    seq: int
    location: str = Field(max_length=255)
    status: str = Field(max_length=16)  # open | replayed
    reason: str = Field(sa_column=Column(Text, nullable=False))  # JSON OperationOutcome issues
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    replayed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False)))
    attempts: int = 0


class ControlIdRow(SQLModel, table=True):
    """HL7 v2 message control ids already accepted, per tenant and sender: a re-sent message is a duplicate."""

    __tablename__ = "ingest_control_id"

    tenant: str = Field(primary_key=True, max_length=64)
    sender: str = Field(primary_key=True, max_length=255)
    control_id: str = Field(primary_key=True, max_length=199)
    message_id: str = Field(max_length=36)
    seq: int


__all__ = ["ControlIdRow", "DeadLetterRow", "IngestJobRow", "IngestMessageRow", "IngestRecordRow"]
