"""Security tables: OAuth clients, spent client-assertion ids (``jti``) and the audit trail with its chain head.

They live in the database, not in process memory, so several gateway processes on one PostgreSQL share them
(architecture §10): a ``jti`` spent on one replica is refused by all, and the audit chain has one head.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel


class OAuthClientRow(SQLModel, table=True):
    """A registered client of the authorization server (SMART Backend Services)."""

    __tablename__ = "oauth_client"

    name: str = Field(primary_key=True, max_length=64)  # the client_id
    role: str = Field(max_length=32)
    tenant: str | None = Field(default=None, max_length=64)  # FINESS of the owning centre, or None
    scopes: str = Field(sa_column=Column(Text, nullable=False))  # space-separated SMART scopes it may be granted
    jwks: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # public JWK Set (JSON)
    jwks_url: str | None = Field(default=None, max_length=1024)
    managed_key: bool = False  # the gateway generated its key pair and keeps the private key (demo clients)
    # What a practitioner client stands for: {"practitioner_id": idNat_PS, "structures": [FINESS...],
    # "profession": code} (JSON); None for the other roles
    attributes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))


class SpentAssertionRow(SQLModel, table=True):
    """A client assertion ``jti`` already used; kept until the assertion has expired (then it could not be replayed)."""

    __tablename__ = "oauth_jti"
    __table_args__ = (Index("ix_oauth_jti_expires", "expires_at"),)

    client: str = Field(primary_key=True, max_length=64)
    jti: str = Field(primary_key=True, max_length=255)
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))


class AuditEventRow(SQLModel, table=True):
    """One AuditEvent, append-only; ``hash`` = SHA-256(``prev_hash`` + canonical JSON of ``event``)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_recorded", "recorded_at"),
        Index("ix_audit_event_patient", "patient"),
    )

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))  # head.seq + 1
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    action: str = Field(max_length=16)  # read | search | create | update | delete | token | deny | ...
    outcome: str = Field(max_length=8)  # FHIR AuditEvent.outcome: 0 | 4 | 8 | 12
    agent: str = Field(max_length=255)  # who: client name, idNat_PS, certificate DN
    patient: str | None = Field(default=None, max_length=128)  # first patient concerned (searchable)
    event: str = Field(sa_column=Column(Text, nullable=False))  # the AuditEvent resource, canonical JSON
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHeadRow(SQLModel, table=True):
    """The chain head (one row): locked while appending, so appends from several processes stay one chain."""

    __tablename__ = "audit_head"

    id: int = Field(primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(max_length=64)


__all__ = ["AuditEventRow", "AuditHeadRow", "OAuthClientRow", "SpentAssertionRow"]
