"""The demo CPTS's SNP HealthcareService is the one centres' slot exports point at (a conditional reference)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from gateway.demo import DemoOptions, generate_territory

SLOT_MAPPING = Path(__file__).resolve().parents[3] / "mappings" / "csv" / "resources" / "slot.yaml"


def _conditional_references(node: object) -> list[str]:
    if isinstance(node, dict):
        return [r for value in node.values() for r in _conditional_references(value)]
    if isinstance(node, list):
        return [r for value in node for r in _conditional_references(value)]
    return [node] if isinstance(node, str) and node.startswith("HealthcareService?identifier=") else []


def test_ingested_cpts_slots_find_the_demo_cpts_service() -> None:
    references = _conditional_references(yaml.safe_load(SLOT_MAPPING.read_text(encoding="utf-8")))
    assert references, "the CSV slot mapping names the CPTS service by a conditional reference"
    options = DemoOptions(centres=2, days=1, seed=1, start=dt.date(2026, 11, 23))
    resources = generate_territory(options)
    services = [r for tenant, r in resources if r["resourceType"] == "HealthcareService" and tenant is None]
    assert len(services) == 1
    held = {f"{i['system']}|{i['value']}" for i in services[0].get("identifier", [])}
    for reference in references:
        assert reference.removeprefix("HealthcareService?identifier=") in held
