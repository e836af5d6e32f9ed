"""Table models. Stored FHIR JSON is the truth; the ``search_*`` tables are derived from it and can be rebuilt."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Index, Integer, Text, text
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
        # Both capacity indexes carry ``kinds``: a count or a page filtered on slot types never visits the table.
        Index("ix_slot_schedule", "schedule_id", "status", "low", "rid", "kinds"),
        Index("ix_slot_status", "status", "low", "rid", "kinds", "schedule_id", "tenant"),
        Index("ix_slot_owner", "rid"),
        # Non-scheduled-care slots (about a tenth of all): what coordinators ask for, without reading the others;
        # with their coded tokens, so that a specialty or service-type filter is answered from the index alone, and
        # their end bound, which a date search reads for a Slot already running at the window's start.
        Index(
            "ix_slot_snp",
            "status",
            "low",
            "rid",
            "tenant",
            "schedule_id",
            "kinds",
            "codes",
            "high",
            sqlite_where=text(SNP_ROWS),
            postgresql_where=text(SNP_ROWS),
        ),
        # One local day's slots with everything the indicators' daily rollup reads (gateway/indicators/rollups.py):
        # a range scan that never visits the table.
        Index(
            "ix_slot_indicators",
            "low",
            "tenant",
            "schedule_id",
            "status",
            "service_type",
            "specialty",
            "kinds",
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
    # The Slot as the SAS receives it, without start and end, and the elements its includes follow, compact JSON
    # (gateway/sas/fragments.py); NULL when it cannot be prepared ahead.
    sas: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    links: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Its specialty and service-type tokens, " specialty=<system>|<code> ... " (slot_rows.codes_column): a token
    # filter on them tests this text instead of probing the token index once per candidate. NULL: probe.
    codes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class AppointmentFactRow(SQLModel, table=True):
    """One row per Appointment: what the activity indicators aggregate (no-shows, booked slots, active patients),
    so they GROUP BY over compact rows instead of parsing appointments."""

    __tablename__ = "fact_appointment"
    __table_args__ = (
        # One local day's appointments with everything the indicators' daily rollup reads: a range scan, no table.
        Index(
            "ix_fact_appt_period",
            "low",
            "tenant",
            "status",
            "practitioner_id",
            "role_id",
            "specialty",
            "service_type",
            "slot_id",
            "location_id",
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


class SlotDayRow(SQLModel, table=True):
    """The slot indicators' daily rollup (gateway/indicators/rollups.py): per centre, local day and group, how many
    Slots start that day and their minutes, ``overflow`` being the minutes past the next local midnight (clipped
    when the day ends a period). ``room`` is the room of the live Appointment filling a busy Slot (``-`` without
    one), NULL when no live Appointment fills it. Derived from ``search_slot`` and ``fact_appointment``."""

    __tablename__ = "indicator_slot_day"
    __table_args__ = (Index("ix_slot_day", "day", "tenant"),)

    pk: int | None = Field(default=None, sa_column=_surrogate_key())
    tenant: str | None = Field(default=None, max_length=64)
    day: date = Field(sa_column=Column(Date, nullable=False))
    schedule_id: str | None = Field(default=None, max_length=ID_LEN)
    status: str | None = Field(default=None, max_length=64)
    service_type: str | None = Field(default=None, max_length=64)
    specialty: str | None = Field(default=None, max_length=64)
    snp: bool = Field(sa_column=Column(Boolean, nullable=False))
    room: str | None = Field(default=None, max_length=ID_LEN)
    slots: int = Field(sa_column=Column(Integer, nullable=False))
    minutes: int = Field(sa_column=Column(BigInteger, nullable=False))
    overflow: int = Field(sa_column=Column(BigInteger, nullable=False))


class AppointmentDayRow(SQLModel, table=True):
    """The no-show indicator's daily rollup: per centre, local day and group, how many Appointments start that day;
    ``withdrawn`` when their outcome is known and their Slot was withdrawn (busy-unavailable, entered-in-error)."""

    __tablename__ = "indicator_appt_day"
    __table_args__ = (Index("ix_appt_day", "day", "tenant"),)

    pk: int | None = Field(default=None, sa_column=_surrogate_key())
    tenant: str | None = Field(default=None, max_length=64)
    day: date = Field(sa_column=Column(Date, nullable=False))
    status: str | None = Field(default=None, max_length=64)
    practitioner_id: str | None = Field(default=None, max_length=ID_LEN)
    role_id: str | None = Field(default=None, max_length=ID_LEN)
    specialty: str | None = Field(default=None, max_length=64)
    service_type: str | None = Field(default=None, max_length=64)
    withdrawn: bool = Field(sa_column=Column(Boolean, nullable=False))
    appointments: int = Field(sa_column=Column(Integer, nullable=False))


class RollupMarkRow(SQLModel, table=True):
    """A (centre, local day) whose rollups a write made stale, appended by the store in the writing transaction and
    consumed by the next refresh (several marks of one day are one refresh)."""

    __tablename__ = "indicator_dirty"

    pk: int | None = Field(default=None, sa_column=_surrogate_key())
    tenant: str | None = Field(default=None, max_length=64)
    day: date = Field(sa_column=Column(Date, nullable=False))


class RollupStateRow(SQLModel, table=True):
    """One row once the rollups have been built from every fact row, with the time zone their days are in. No row
    (a new or migrated database, after ``reindex``), or another zone: the next refresh rebuilds them all."""

    __tablename__ = "indicator_rollup_state"

    id: int = Field(primary_key=True)
    zone: str = Field(max_length=64)
    built_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))


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
    "AppointmentDayRow",
    "AppointmentFactRow",
    "DateIndexRow",
    "DirectoryVersionRow",
    "NumberIndexRow",
    "ReferenceIndexRow",
    "ResourceRow",
    "ResourceVersionRow",
    "RollupMarkRow",
    "RollupStateRow",
    "SlotDayRow",
    "SlotIndexRow",
    "StringIndexRow",
    "TokenIndexRow",
]
