"""Resources from other sources than the demo: FR Core profiles, a PractitionerRole that references its Location,
an Organization known by its FINESS only, UTC slot times. The SAS rendering still answers the aggregator bundle."""

from __future__ import annotations

import httpx

from gateway.sas import profiles as P
from gateway.sas.checker import problems
from tests.gateway.sas.sas_support import IDNPS, int_r04
from tests.security.identities import Identities

FR_CORE = "https://hl7.fr/ig/fhir/core/StructureDefinition/"
RPPS = "810101010109"


def resources() -> list[dict[str, object]]:
    return [
        {
            "resourceType": "Organization",
            "id": "cpts",
            "meta": {"profile": [FR_CORE + "fr-core-organization"]},
            "identifier": [{"system": "https://finess.esante.gouv.fr", "value": "359999999"}],
            "name": "CPTS Test",
        },
        {
            "resourceType": "HealthcareService",
            "id": "snp",
            "providedBy": {"reference": "Organization/cpts"},
        },
        {
            "resourceType": "Practitioner",
            "id": "gp",
            "meta": {"profile": [FR_CORE + "fr-core-practitioner"]},
            "identifier": [
                {"system": "https://rpps.esante.gouv.fr", "value": RPPS[1:]},
                {"system": IDNPS, "value": RPPS},
            ],
            "name": [{"family": "Martin", "given": ["Anne"]}],
        },
        {
            "resourceType": "Location",
            "id": "room",
            "address": {"line": ["1 place de la Mairie"], "city": "Bruz", "postalCode": "35170"},
        },
        {
            "resourceType": "PractitionerRole",
            "id": "gp-role",
            "practitioner": {"reference": "Practitioner/gp"},
            "location": [{"reference": "Location/room"}],
        },
        {
            "resourceType": "Schedule",
            "id": "gp-agenda",
            "actor": [{"reference": "Practitioner/gp"}, {"reference": "PractitionerRole/gp-role"}],
        },
        {
            "resourceType": "Slot",
            "id": "slot-1",
            "meta": {
                "profile": [FR_CORE + "fr-core-slot"],
                "security": [{"system": P.SLOT_TYPE_SYSTEM, "code": "CPTS"}],
            },
            "serviceType": [
                {"coding": [{"system": P.ACT_CODE_SYSTEM, "code": "AMB"}]},
                {
                    "extension": [
                        {"url": P.SLOT_SERVICE_TYPE_URL, "valueReference": {"reference": "HealthcareService/snp"}}
                    ],
                    "coding": [{"system": P.CATEGORY_SYSTEM, "code": "604"}],
                },
            ],
            "appointmentType": {"coding": [{"system": P.APPOINTMENT_TYPE_SYSTEM, "code": "WALKIN"}]},
            "schedule": {"reference": "Schedule/gp-agenda"},
            "status": "free",
            "start": "2026-11-23T08:00:00Z",
            "end": "2026-11-23T08:20:00Z",
            "comment": "https://rdv.example/cpts-test",
        },
    ]


def test_sas_rendering_of_resources_from_other_sources(ids: Identities) -> None:
    ids.seed_shared(*resources())
    sas: httpx.Client = ids.client("sas-region", "sas-consumer")
    params = int_r04([RPPS], "2026-11-23T00:00:00", "2026-11-23T23:59:59")
    response = sas.get("/fhir/Slot", params=tuple(params))
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert problems(bundle) == []
    by_type = {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}
    assert by_type["Slot"]["start"] == "2026-11-23T09:00:00.000+01:00"
    assert by_type["Slot"]["meta"]["profile"] == [P.PROFILES["Slot"]]
    assert by_type["Practitioner"]["identifier"][0]["value"] == RPPS
    assert len(by_type["Practitioner"]["identifier"]) == 1
    role = by_type["PractitionerRole"]
    assert role["location"] == [{"reference": "#location"}]
    assert role["contained"][0]["address"]["city"] == "Bruz"
    assert by_type["Organization"]["identifier"][0]["value"] == "1359999999"
    assert bundle["total"] == 1
