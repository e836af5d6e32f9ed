"""Subscription tables: the subscribers of active Subscriptions, the outbox of notifications, every attempt.

``subscription`` is derived from the stored Subscription resources plus who wrote them (the subscriber, whose rights
decide what a notification may carry); ``subscription_delivery`` is the outbox, written in the transaction of the
resource write that matched; ``subscription_attempt`` records each request sent to an endpoint. All shared by the
gateway processes (architecture §10): deliveries are taken with ``SELECT ... FOR UPDATE SKIP LOCKED`` leases.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel


class SubscriptionRow(SQLModel, table=True):
    """One Subscription resource as the matcher and the worker read it, with its subscriber."""

    __tablename__ = "subscription"
    __table_args__ = (Index("ix_subscription_active", "criteria_type", "status"),)

    id: str = Field(primary_key=True, max_length=64)  # the Subscription resource id
    criteria_type: str = Field(max_length=64)
    criteria: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16)  # requested | active | error | off | deleted
    endpoint: str = Field(sa_column=Column(Text, nullable=False))
    payload: str | None = Field(default=None, max_length=64)  # application/fhir+json, or None: id-only
    headers: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of "Name: value"
    subscriber: str = Field(max_length=255)  # the principal's subject
    role: str = Field(max_length=32)
    tenant: str | None = Field(default=None, max_length=64)  # the subscriber's centre (FINESS), if any
    practitioner_id: str | None = Field(default=None, max_length=64)
    structures: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of FINESS
    profession: str | None = Field(default=None, max_length=16)
    scopes: str = Field(default="", sa_column=Column(Text, nullable=False))
    unrestricted: bool = False  # the token had no SMART scopes (role-bound callers)
    failures: int = 0  # consecutive failed attempts, over all its deliveries
    error: str | None = Field(default=None, sa_column=Column(Text))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    end_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False)))  # Subscription.end, UTC


class SubscriptionDeliveryRow(SQLModel, table=True):
    """One notification to send: a resource version that matched a Subscription's criteria."""

    __tablename__ = "subscription_delivery"
    __table_args__ = (
        Index("ix_subscription_delivery_due", "status", "due_at"),
        Index("ix_subscription_delivery_subscription", "subscription_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=36)
    subscription_id: str = Field(max_length=64)
    res_type: str = Field(max_length=64)
    res_id: str = Field(max_length=64)
    version_id: int
    status: str = Field(max_length=16)  # pending | delivered | failed | cancelled
    attempts: int = 0
    due_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False)))
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False)))
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class SubscriptionAttemptRow(SQLModel, table=True):
    """One request sent to a subscriber's endpoint, successful or not."""

    __tablename__ = "subscription_attempt"
    __table_args__ = (Index("ix_subscription_attempt_delivery", "delivery_id", "attempt"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(max_length=36)
    subscription_id: str = Field(max_length=64, index=True)
    attempt: int
    started_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    duration_ms: int
    http_status: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    content: str = Field(max_length=16)  # full | id-only
    reason: str = Field(max_length=64)  # why that content: the consent or access decision, or "no-payload"
    outcome: str = Field(max_length=16)  # delivered | failed
