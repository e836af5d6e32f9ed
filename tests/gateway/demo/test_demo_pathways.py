"""The demo territory's pathways: enrolments in the protocols, referrals in every state, some overdue."""

from __future__ import annotations

import collections
import datetime as dt
from typing import Any

from gateway.demo.generator import generate_territory
from gateway.demo.options import DemoOptions
from gateway.demo.pathways import STATES
from gateway.fhir.validation import validate_resource
from gateway.pathways.loader import read_protocols

START = dt.date(2026, 11, 20)
OPEN = ("requested", "received", "accepted", "in-progress")


def pathway_resources(**options: Any) -> list[tuple[str | None, dict[str, Any]]]:
    kinds = ("CarePlan", "Task", "ServiceRequest")
    return [
        (t, r) for t, r in generate_territory(DemoOptions(start=START, days=1, **options)) if r["resourceType"] in kinds
    ]


def test_referrals_in_every_state_some_overdue_all_valid() -> None:
    found = pathway_resources(centres=3)
    tasks = [r for _, r in found if r["resourceType"] == "Task"]
    assert set(collections.Counter(t["status"] for t in tasks)) == set(STATES)
    overdue = [t for t in tasks if t["status"] in OPEN and t["restriction"]["period"]["end"] < START.isoformat()]
    assert 0 < len(overdue) < len([t for t in tasks if t["status"] in OPEN])
    plans = [r for _, r in found if r["resourceType"] == "CarePlan"]
    urls = {p["url"] for p in read_protocols()}
    assert {p["instantiatesCanonical"][0].split("|")[0] for p in plans} <= urls
    assert {p["status"] for p in plans} == {"active", "completed"}
    for tenant, resource in found:
        assert tenant is not None  # held by the patient's centre
        validate_resource(resource, expected_type=resource["resourceType"])
    for task in tasks:
        period = task.get("executionPeriod", {})
        assert ("start" in period) == (task["status"] in ("in-progress", "completed", "failed"))


def test_pathways_are_deterministic() -> None:
    assert pathway_resources(centres=2) == pathway_resources(centres=2)
