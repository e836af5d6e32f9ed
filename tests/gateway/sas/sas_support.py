"""Shared helpers of the SAS tests: a small demo territory in the test database and the INT_R04 request."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from gateway.demo import DemoOptions, generate_territory
from gateway.demo.loader import load_demo
from gateway.demo.territory import plan_territory
from gateway.settings import Settings
from gateway.storage.store import build_store

PARIS = ZoneInfo("Europe/Paris")
IDNPS = "urn:oid:1.2.250.1.71.4.2.1"
INCLUDES = [
    ("_include", "Slot:schedule"),
    ("_include:iterate", "Schedule:actor"),
    ("_include", "Slot:service-type-reference"),
    ("_include:iterate", "HealthcareService:organization"),
]


@dataclass(frozen=True)
class Territory:
    options: DemoOptions
    practitioners: list[str]  # idNat_PS (8 + RPPS), at most 25
    schedules: dict[str, str]  # Schedule id -> idNat_PS
    cpts_finess: str
    slots: list[dict[str, Any]]  # every generated Slot


def seed(engine: Engine, settings: Settings, centres: int = 3, days: int = 2) -> Territory:
    """The demo territory (``centres`` centres, ``days`` days either side of today) loaded into the database."""
    options = DemoOptions(centres=centres, days=days, start=dt.datetime.now(PARIS).date())
    load_demo(build_store(engine, settings), options)
    plan = plan_territory(options)
    specs = [p for c in plan.centres for p in c.practitioners][:25]
    slots = [r for _, r in generate_territory(options) if r["resourceType"] == "Slot"]
    return Territory(
        options,
        [p.id_nat_ps for p in specs],
        {p.schedule_id: p.id_nat_ps for p in specs},
        plan.cpts.finess,
        slots,
    )


def window(days: int = 2) -> tuple[dt.datetime, dt.datetime]:
    """Now (Paris, to the second) .. the end of the day ``days`` later, as the test kit asks."""
    now = dt.datetime.now(PARIS).replace(microsecond=0)
    end = dt.datetime.combine(now.date() + dt.timedelta(days=days), dt.time(23, 59, 59), PARIS)
    return now, end


def int_r04(practitioners: list[str], low: str, high: str) -> list[tuple[str, str]]:
    identifiers = ",".join(f"{IDNPS}|{p}" for p in practitioners)
    return [
        ("start", f"ge{low}"),
        ("start", f"le{high}"),
        ("schedule.actor:Practitioner.identifier", identifiers),
        ("status", "free"),
        *INCLUDES,
    ]


def expected_slots(territory: Territory, low: dt.datetime, high: dt.datetime) -> set[str]:
    """Ids of the free Slots of the asked practitioners starting in [low, high]."""
    return {
        s["id"]
        for s in territory.slots
        if s["status"] == "free"
        and s["schedule"]["reference"].removeprefix("Schedule/") in territory.schedules
        and low <= dt.datetime.fromisoformat(s["start"]) <= high
    }


# A well-formed INT_R04 request (first-generation include set), for tests that only need the SAS to search Slots.
INT_R04_EXAMPLE = (
    "/fhir/Slot?start=ge2026-11-23T08:00:00&start=le2026-11-23T20:00:00"
    "&schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1%7C810000000001"
    "&status=free&_include=Slot:schedule&_include:iterate=Schedule:actor"
)
