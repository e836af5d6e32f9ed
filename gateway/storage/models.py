"""Table models. Stored FHIR JSON is the truth; the ``search_*`` tables are derived from it and can be rebuilt."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, Text, text
from sqlmodel import Field, SQLModel

TYPE_LEN = 64
ID_LEN = 64
PARAM_LEN = 64


def _surrogate_key() -> Column[int]:
    return Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)


class ResourceRow(SQLModel, table=True):
    """The current version of each resource (deleted ones keep a row with ``deleted`` set)."""

    __tablename__ = "resource"
    __table_args__ = (
        Index("ix_resource_type_updated", "res_type", "last_updated", "res_id"),
        Index("ix_resource_tenant", "tenant", "res_type"),
    )

    res_type: str = Field(primary_key=True, max_length=TYPE_LEN)
    res_id: str = Field(primary_key=True, max_length=ID_LEN)
    rid: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))  # compact key of the index rows
    tenant: str | None = Field(default=None, max_length=64)
    version_id: int
    last_updated: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    deleted: bool = False
    content_hash: str = Field(max_length=64)
    content: str = Field(sa_column=Column(Text, nullable=False))


class ResourceVersionRow(SQLModel, table=True):
    """Every version of every resource, current one included (the history)."""

    __tablename__ = "resource_version"
    __table_args__ = (
        Index("ix_version_updated", "last_updated"),
        Index("ix_version_type_updated", "res_type", "last_updated"),
    )

    res_type: str = Field(primary_key=True, max_length=TYPE_LEN)
    res_id: str = Field(primary_key=True, max_length=ID_LEN)
    version_id: int = Field(primary_key=True)
    tenant: str | None = Field(default=None, max_length=64)
    last_updated: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    method: str = Field(max_length=8)  # POST, PUT, DELETE
    deleted: bool = False
    content: str = Field(sa_column=Column(Text, nullable=False))


# Index rows point at their resource by ``resource.rid`` (an integer), which keeps the indexes small.


class TokenIndexRow(SQLModel, table=True):
    __tablename__ = "search_token"
    __table_args__ = (
        Index("ix_token_lookup", "res_type", "param", "code", "system", "rid"),
        Index("ix_token_owner", "rid", "param", "code"),
    )

    pk: int | None = Field(default=None, sa_column=_surrogate_key())
    res_type: str = Field(max_length=TYPE_LEN)
    rid: int = Field(sa_column=Column(BigInteger, nullable=False))
    param: str = Field(max_length=PARAM_LEN)
    system: str | None = Field(default=None, max_length=255)
    code: str | None = Field(default=None, max_length=255)


class DateIndexRow(SQLModel, table=True):
    __tablename__ = "search_date"
    __table_args__ = (
        Index("ix_date_low", "res_type", "param", "low", "high", "rid"),
        Index("ix_date_status", "res_type", "param", "status", "low", "high", "rid"),
        Index("ix_date_high", "res_type", "param", "high"),
        Index("ix_date_owner", "rid", "param"),
    )

    pk: int | None = Field(default=None, sa_column=_surrogate_key())
    res_type: str = Field(max_length=TYPE_LEN)
    rid: int = Field(sa_column=Column(BigInteger, nullable=False))
    param: str = Field(max_length=PARAM_LEN)
    low: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    high: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    # The resource's own status, so "status + date range" (free Slots this week) is one index range scan.
    status: str | None = Field(default=None, max_length=64)


class ReferenceIndexRow(SQLModel, table=True):
    __tablename__ = "search_reference"
    __table_args__ = (
        Index("ix_reference_target", "res_type", "param", "target_type", "target_id"),
        Index("ix_reference_owner", "rid", "param"),
    )

    pk: int | None = Field(default=None, sa_column=_surrogate_key())
    res_type: str = Field(max_length=TYPE_LEN)
    rid: int = Field(sa_column=Column(BigInteger, nullable=False))
    param: str = Field(max_length=PARAM_LEN)
    target_type: str | None = Field(default=None, max_length=TYPE_LEN)
    target_id: str | None = Field(default=None, max_length=ID_LEN)
    url: str | None = Field(default=None, max_length=512)  # canonical or absolute references


class StringIndexRow(SQLModel, table=True):
    __tablename__ = "search_string"
    __table_args__ = (
        Index("ix_string_lookup", "res_type", "param", "value"),
        Index("ix_string_owner", "rid", "param"),
    )

    pk: int | None = Field(default=None, sa_column=_surrogate_key())
    res_type: str = Field(max_length=TYPE_LEN)
    rid: int = Field(sa_column=Column(BigInteger, nullable=False))
    param: str = Field(max_length=PARAM_LEN)
    value: str = Field(max_length=512)  # normalised: lower case, accents removed
    exact: str = Field(max_length=512)  # as written, for :exact


class NumberIndexRow(SQLModel, table=True):
    """Number and quantity parameters (value plus optional unit system and code)."""

    __tablename__ = "search_number"
    __table_args__ = (
        Index("ix_number_lookup", "res_type", "param", "value"),
        Index("ix_number_owner", "rid", "param"),
    )

    pk: int | None = Field(default=None, sa_column=_surrogate_key())
    res_type: str = Field(max_length=TYPE_LEN)
    rid: int = Field(sa_column=Column(BigInteger, nullable=False))
    param: str = Field(max_length=PARAM_LEN)
    value: float
    system: str | None = Field(default=None, max_length=255)
    code: str | None = Field(default=None, max_length=255)


SNP_ROWS = "kinds LIKE '% SNP %'"  # the partial index's predicate; queries repeat it literally to use the index


class SlotIndexRow(SQLModel, table=True):
    """One row per Slot: what capacity searches filter on, in one row (its Schedule, status, start and TRE_R314 slot
    types), so "free SNP slots of these schedules this week" is one range scan of one index."""

    __tablename__ = "search_slot"
    __table_args__ = (
        Index("ix_slot_schedule", "schedule_id", "status", "low", "rid"),
        Index("ix_slot_status", "status", "low", "rid", "kinds", "schedule_id", "tenant"),
        Index("ix_slot_owner", "rid"),
        # Non-scheduled-care slots (about a tenth of all): what coordinators ask for, without reading the others.
        Index(
            "ix_slot_snp",
            "status",
            "low",
            "rid",
            "tenant",
            "schedule_id",
            sqlite_where=text(SNP_ROWS),
            postgresql_where=text(SNP_ROWS),
        ),
        # The indicators' GROUP BY over a period's slots (gateway/indicators/slots.py), in its key order and covering
        # the start, end, minutes and id: SQLite streams the aggregate through it instead of sorting the rows.
        Index(
            "ix_slot_indicators",
            "tenant",
            "schedule_id",
            "status",
            "service_type",
            "specialty",
            "kinds",
            "low",
            "minutes",
            "end_at",
            "res_id",
        ),
    )

    pk: int | None = Field(default=None, sa_column=_surrogate_key())
    res_type: str = Field(max_length=TYPE_LEN)
    rid: int = Field(sa_column=Column(BigInteger, nullable=False))
    schedule_id: str | None = Field(default=None, max_length=ID_LEN)
    status: str | None = Field(default=None, max_length=64)
    low: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))  # start, naive UTC
    high: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))  # start's upper bound
    kinds: str = Field(default="", max_length=255)  # TRE_R314 codes, space-separated and space-framed: " SNP CPTS "
    tenant: str | None = Field(default=None, max_length=64)  # the Slot's centre (as on its resource row)
    # What the activity indicators group by (gateway/storage/fact_rows.py): the Slot's own id (Appointment.slot names
    # it), its end and length in minutes, service type (v3-ActCode), specialty and appointment type codes.
    res_id: str | None = Field(default=None, max_length=ID_LEN)
    end_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False), nullable=True))
    minutes: int | None = None
    service_type: str | None = Field(default=None, max_length=64)
    specialty: str | None = Field(default=None, max_length=64)
    appt_type: str | None = Field(default=None, max_length=64)


class AppointmentFactRow(SQLModel, table=True):
    """One row per Appointment: what the activity indicators aggregate (no-shows, booked slots, active patients),
    so they GROUP BY over compact rows instead of parsing appointments."""

    __tablename__ = "fact_appointment"
    __table_args__ = (
        # The no-show counts of a period per centre, status, practitioner, role, specialty and service type: the
        # index is in GROUP BY order and holds the start, so the aggregate streams through it without a sort.
        Index(
            "ix_fact_appt_period",
            "tenant",
            "status",
            "practitioner_id",
            "role_id",
            "specialty",
            "service_type",
            "low",
            "slot_id",
        ),
        Index("ix_fact_appt_slot", "slot_id", "status", "location_id"),  # is this Slot booked, and in which room
        Index("ix_fact_appt_patient", "status", "low", "tenant", "patient_id"),  # patients seen in the last 24 months
        Index("ix_fact_appt_owner", "rid"),
    )

    pk: int | None = Field(default=None, sa_column=_surrogate_key())
    res_type: str = Field(max_length=TYPE_LEN)
    rid: int = Field(sa_column=Column(BigInteger, nullable=False))
    tenant: str | None = Field(default=None, max_length=64)
    status: str | None = Field(default=None, max_length=64)
    low: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))  # start, naive UTC
    end_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False), nullable=True))
    minutes: int | None = None
    slot_id: str | None = Field(default=None, max_length=ID_LEN)
    patient_id: str | None = Field(default=None, max_length=ID_LEN)
    practitioner_id: str | None = Field(default=None, max_length=ID_LEN)
    role_id: str | None = Field(default=None, max_length=ID_LEN)
    location_id: str | None = Field(default=None, max_length=ID_LEN)
    service_type: str | None = Field(default=None, max_length=64)
    specialty: str | None = Field(default=None, max_length=64)
    appt_type: str | None = Field(default=None, max_length=64)


class DirectoryVersionRow(SQLModel, table=True):
    """A counter per resource type the capacity directory is built from, bumped by every write of that type in the
    writing transaction: a server process rebuilds its directory when a counter moved."""

    __tablename__ = "directory_version"

    res_type: str = Field(primary_key=True, max_length=TYPE_LEN)
    version: int = Field(sa_column=Column(BigInteger, nullable=False, default=0))


INDEX_TABLES = (
    TokenIndexRow,
    DateIndexRow,
    ReferenceIndexRow,
    StringIndexRow,
    NumberIndexRow,
    SlotIndexRow,
    AppointmentFactRow,
)

__all__ = [
    "INDEX_TABLES",
    "AppointmentFactRow",
    "DateIndexRow",
    "DirectoryVersionRow",
    "NumberIndexRow",
    "ReferenceIndexRow",
    "ResourceRow",
    "ResourceVersionRow",
    "SlotIndexRow",
    "StringIndexRow",
    "TokenIndexRow",
]
