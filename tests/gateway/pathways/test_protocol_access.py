"""Who reads the protocols: the coordinator and practitioners read them; a centre reads but may not replace them."""

from __future__ import annotations

from sqlalchemy import Engine

from gateway.pathways.loader import publish_protocols, read_protocols
from gateway.settings import Settings
from tests.security.identities import CENTRE_A, Identities

DIABETES = "cpts-diabetes-t2"
URL = f"https://cpts-gateway.fr/fhir/PlanDefinition/{DIABETES}"


def publish(engine: Engine, settings: Settings) -> None:
    """What start-up does (the tables were emptied after the session's server started)."""
    assert publish_protocols(engine, settings, read_protocols()) == {"created": len(read_protocols())}


def test_a_coordinator_reads_and_searches_the_protocols(ids: Identities, engine: Engine) -> None:
    publish(engine, ids.settings)
    coordinator = ids.client("coordination", "coordinator")
    read = coordinator.get(f"/fhir/PlanDefinition/{DIABETES}")
    assert read.status_code == 200, read.text
    assert read.json()["url"] == URL
    found = coordinator.get("/fhir/PlanDefinition", params={"url": URL})
    assert found.status_code == 200, found.text
    assert [e["resource"]["id"] for e in found.json()["entry"]] == [DIABETES]
    assert len(coordinator.get("/fhir/PlanDefinition").json()["entry"]) == len(read_protocols())


def test_a_practitioner_and_a_centre_read_the_protocols(ids: Identities, engine: Engine) -> None:
    publish(engine, ids.settings)
    nurse = ids.practitioner("nurse", "600000000001", [CENTRE_A], "60")
    assert nurse.get(f"/fhir/PlanDefinition/{DIABETES}").status_code == 200
    centre = ids.centre(CENTRE_A)
    resource = centre.get(f"/fhir/PlanDefinition/{DIABETES}").json()
    assert resource["status"] == "active"


def test_a_centre_may_not_replace_a_cpts_protocol(ids: Identities, engine: Engine) -> None:
    publish(engine, ids.settings)
    centre = ids.centre(CENTRE_A)
    resource = centre.get(f"/fhir/PlanDefinition/{DIABETES}").json()
    resource["status"] = "retired"
    del resource["meta"]
    refused = centre.put(f"/fhir/PlanDefinition/{DIABETES}", json=resource)
    assert refused.status_code == 403, refused.text
    assert centre.get(f"/fhir/PlanDefinition/{DIABETES}").json()["status"] == "active"
