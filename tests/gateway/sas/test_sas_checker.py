"""The aggregator-profile checker: derived from the SAS package, and it catches each rule a bundle can break."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from gateway.sas import profiles as P
from gateway.sas.checker import problems
from gateway.sas.render import sas_instant
from tests.conftest import SHARED

PACKAGE = SHARED / "fhir-packages" / "ans.fhir.fr.sas#1.2.0"  # ../shared beside the repository, as CI has it
BASE = "https://gw.example/fhir"


def definition(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PACKAGE / name).read_text(encoding="utf-8"))
    return data


def test_sas_canonicals_and_codes_match_the_package() -> None:
    bundle = definition("StructureDefinition-sas-cpts-bundle-aggregator.json")
    assert bundle["url"] == P.BUNDLE_PROFILE
    sliced = {
        profile
        for element in bundle["differential"]["element"]
        if element["id"].endswith(".resource")
        for kind in element.get("type", [])
        for profile in kind.get("profile", [])
    }
    assert sliced == set(P.PROFILES.values())
    elements = {e["id"]: e for e in bundle["differential"]["element"]}
    required = {
        profile
        for name, element in elements.items()
        if name.count(":") == 1 and "." not in name.split(":")[1] and element.get("min") == 1
        for kind in elements[f"{name}.resource"]["type"]
        for profile in kind["profile"]
    }
    assert required == {P.PROFILES[kind] for kind in P.REQUIRED_TYPES}

    def codes(name: str) -> set[str]:
        return {c["code"] for inc in definition(name)["compose"]["include"] for c in inc["concept"]}

    assert codes("ValueSet-sas-cpts-valueset-typecreneau.json") == P.SLOT_TYPES
    assert codes("ValueSet-sas-valueset-appointmentreason.json") == P.APPOINTMENT_TYPES
    assert codes("ValueSet-sas-valueset-typeconsultation.json") == P.CONSULTATION_TYPES
    assert codes("ValueSet-sas-valueset-categorieetablissement.json") == {P.CATEGORY_CPTS}
    organization = definition("StructureDefinition-sas-cpts-organization-aggregator.json")["differential"]["element"]
    patterns = {e["id"]: e for e in organization}
    assert patterns["Organization.identifier.system"]["patternUri"] == P.IDNST_SYSTEM
    assert patterns["Organization.identifier.type"]["patternCodeableConcept"]["coding"][0]["system"] == (
        P.FR_CORE_IDENTIFIER_TYPE
    )
    practitioner = {
        e["id"]: e for e in definition("StructureDefinition-FrPractitionerAgregateur.json")["differential"]["element"]
    }
    assert practitioner["Practitioner.identifier.system"]["patternUri"] == P.IDNPS_SYSTEM
    assert practitioner["Practitioner.identifier.type"]["patternCodeableConcept"]["coding"][0]["system"] == (
        P.V1_IDENTIFIER_TYPE
    )
    parameter = definition("SearchParameter-cptsslot-sp-servicetype.json")
    shipped = json.loads(Path("gateway/sas/SearchParameter-service-type-reference.json").read_text(encoding="utf-8"))
    assert (shipped["url"], shipped["code"], shipped["base"], shipped["type"]) == (
        parameter["url"],
        parameter["code"],
        parameter["base"],
        parameter["type"],
    )


def good_bundle() -> dict[str, Any]:
    def meta(kind: str) -> dict[str, Any]:
        return {"profile": [P.PROFILES[kind]]}

    slot: dict[str, Any] = {
        "resourceType": "Slot",
        "id": "s1",
        "meta": {**meta("Slot"), "security": [{"system": P.SLOT_TYPE_SYSTEM, "code": "SNP"}]},
        "serviceType": [
            {"coding": [{"system": P.ACT_CODE_SYSTEM, "code": "AMB"}]},
            {
                "extension": [{"url": P.SLOT_SERVICE_TYPE_URL, "valueReference": {"reference": "HealthcareService/h"}}],
                "coding": [{"system": P.CATEGORY_SYSTEM, "code": "604"}],
            },
        ],
        "appointmentType": {"coding": [{"system": P.APPOINTMENT_TYPE_SYSTEM, "code": "ROUTINE"}]},
        "schedule": {"reference": "Schedule/sc"},
        "status": "free",
        "start": "2026-11-22T09:00:00.000+01:00",
        "end": "2026-11-22T09:15:00.000+01:00",
        "comment": "https://rdv.example/c",
    }
    resources: list[dict[str, Any]] = [
        slot,
        {
            "resourceType": "Schedule",
            "id": "sc",
            "meta": meta("Schedule"),
            "actor": [{"reference": "Practitioner/p"}, {"reference": "PractitionerRole/r"}],
        },
        {
            "resourceType": "Practitioner",
            "id": "p",
            "meta": meta("Practitioner"),
            "identifier": [
                {
                    "type": {"coding": [{"system": P.V1_IDENTIFIER_TYPE, "code": "IDNPS"}]},
                    "system": P.IDNPS_SYSTEM,
                    "value": "810000000001",
                }
            ],
        },
        {
            "resourceType": "PractitionerRole",
            "id": "r",
            "meta": meta("PractitionerRole"),
            "contained": [
                {
                    "resourceType": "Location",
                    "id": "l",
                    "address": {"line": ["1 rue A"], "city": "Rennes", "postalCode": "35000"},
                }
            ],
            "practitioner": {"reference": "Practitioner/p"},
            "location": [{"reference": "#l"}],
        },
        {
            "resourceType": "HealthcareService",
            "id": "h",
            "meta": meta("HealthcareService"),
            "providedBy": {"reference": "Organization/o"},
        },
        {
            "resourceType": "Organization",
            "id": "o",
            "meta": meta("Organization"),
            "identifier": [
                {
                    "type": {"coding": [{"system": P.FR_CORE_IDENTIFIER_TYPE, "code": "IDNST"}]},
                    "system": P.IDNST_SYSTEM,
                    "value": "1359900016",
                }
            ],
        },
    ]
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "link": [{"relation": "self", "url": f"{BASE}/Slot?status=free"}],
        "entry": [{"fullUrl": f"{BASE}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }


def broken(change: str) -> dict[str, Any]:
    bundle = copy.deepcopy(good_bundle())
    resources = [e["resource"] for e in bundle["entry"]]
    slot, schedule, practitioner, role, service, organization = resources
    if change == "two profiles":
        slot["meta"]["profile"].append("http://interopsante.org/fhir/StructureDefinition/FrSlot")
    elif change == "Z":
        slot["start"] = "2026-11-22T08:00:00.000Z"
    elif change == "no milliseconds":
        slot["end"] = "2026-11-22T09:15:00+01:00"
    elif change == "total":
        bundle["total"] = 3
    elif change == "two links":
        bundle["link"].append({"relation": "next", "url": BASE})
    elif change == "fullUrl":
        del bundle["entry"][2]["fullUrl"]
    elif change == "absolute reference":
        slot["schedule"]["reference"] = f"{BASE}/Schedule/sc"
    elif change == "one actor":
        schedule["actor"] = schedule["actor"][:1]
    elif change == "RPPS":
        practitioner["identifier"][0]["value"] = "10000000001"
    elif change == "no contained Location":
        del role["contained"]
    elif change == "no postal code":
        del role["contained"][0]["address"]["postalCode"]
    elif change == "FINESS":
        organization["identifier"][0]["value"] = "359900016"
    elif change == "two Organization identifiers":
        organization["identifier"].append({"system": "https://finess.esante.gouv.fr", "value": "359900016"})
    elif change == "no providedBy":
        del service["providedBy"]
    elif change == "604 without extension":
        del slot["serviceType"][1]["extension"]
    elif change == "slot type":
        slot["meta"]["security"][0]["code"] = "private"
    elif change == "appointment type":
        slot["appointmentType"]["coding"][0]["code"] = "EMERGENCY"
    elif change == "busy":
        slot["status"] = "busy"
    elif change == "no booking URL":
        del slot["comment"]
    elif change == "no Practitioner":
        bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Practitioner"]
    return bundle


def test_sas_checker_accepts_a_conformant_bundle() -> None:
    assert problems(good_bundle()) == []


@pytest.mark.parametrize(
    "change",
    [
        "two profiles",
        "Z",
        "no milliseconds",
        "total",
        "two links",
        "fullUrl",
        "absolute reference",
        "one actor",
        "RPPS",
        "no contained Location",
        "no postal code",
        "FINESS",
        "two Organization identifiers",
        "no providedBy",
        "604 without extension",
        "slot type",
        "appointment type",
        "busy",
        "no booking URL",
        "no Practitioner",
    ],
)
def test_sas_checker_finds_each_broken_rule(change: str) -> None:
    assert problems(broken(change)), change


def test_sas_instants_have_milliseconds_and_a_numeric_offset() -> None:
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    assert sas_instant("2026-11-22T08:00:00Z", paris) == "2026-11-22T09:00:00.000+01:00"
    assert sas_instant("2026-07-01T08:00:00+02:00", paris) == "2026-07-01T08:00:00.000+02:00"
    assert sas_instant("2026-07-01T08:00:00.5", paris) == "2026-07-01T08:00:00.500+02:00"
    assert sas_instant("2026-11-22T08:00:00Z", ZoneInfo("UTC")) == "2026-11-22T08:00:00.000+00:00"
