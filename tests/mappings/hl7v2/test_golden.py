"""Golden samples of the HL7 v2 mappings: every ``tests/data/hl7v2/<case>.hl7`` (found by glob) is read, mapped and
validated exactly as the ingest pipeline does (``hl7_records`` + ``prepare``), and the outcome is compared with
``<case>.expected.json``: per message its status, the resources produced (with their write mode and mapping), the
registry action and the issues.

Fixed context: tenant ``359900016`` — a demo FINESS (département 35, serial 0001, Luhn key; the ``<dept>99nnnn``
range of ``gateway.demo.identifiers`` stays clear of real establishments) — and zone Europe/Paris.

``CPTS_REGENERATE_GOLDEN=1`` rewrites the expected files instead of comparing; every rewritten file must then be
reviewed by eye (``git diff``) before it is committed. Invariants over all samples run in any case.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.fhir.ids import deterministic_id
from gateway.ingest.prepare import Prepared, prepare
from gateway.ingest.records import hl7_records
from mappings.catalog import Catalog, default_catalog
from mappings.registry import MapContext

DATA = Path(__file__).resolve().parents[2] / "data" / "hl7v2"
CASES = sorted(DATA.glob("*.hl7"))
TENANT = "359900016"
ZONE = ZoneInfo("Europe/Paris")
REGENERATE = os.environ.get("CPTS_REGENERATE_GOLDEN") == "1"
CONDITIONAL = re.compile(r"^(?P<type>[A-Z][A-Za-z]+)\?identifier=(?P<system>[^|\s]+)\|(?P<value>\S.*)$")
INS_PROFILE = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-ins"
INS_SYSTEMS = {f"urn:oid:1.2.250.1.213.1.4.{n}" for n in (8, 9, 10, 11)}
RELIABILITY = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability"
BIRTH_PLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
INSEE = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code"
BIRTH_LIST = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-birth-list-given-name"


def _context() -> MapContext:
    return MapContext(TENANT, ZONE)


def run(path: Path, catalog: Catalog | None = None) -> list[Prepared]:
    """Every message of a sample file, mapped and validated."""
    catalog = catalog or default_catalog()
    return [prepare(record, catalog, _context()) for record in hl7_records(path.read_bytes(), path.name)]


def outcome(prepared: Prepared) -> dict[str, Any]:
    """The comparable outcome of one message (JSON-ready)."""
    action = prepared.action
    return {
        "location": prepared.record.location,
        "kind": prepared.record.kind,
        "status": "rejected" if prepared.rejected else "accepted",
        "action": {"fn": action.fn, "args": action.args} if action is not None else None,
        "produced": [
            {"mapping": produced.mapping, "mode": produced.mode, "resource": produced.resource}
            for produced in prepared.produced
        ]
        if not prepared.rejected
        else [],
        "issues": [
            {
                "severity": issue.severity,
                "code": issue.code,
                "details": issue.details_code,
                "location": list(issue.expression),
                "diagnostics": issue.diagnostics,
            }
            for issue in prepared.issues
        ],
    }


def _expected_path(case: Path) -> Path:
    return case.with_suffix(".expected.json")


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_golden(case: Path) -> None:
    actual = [outcome(prepared) for prepared in run(case)]
    expected_path = _expected_path(case)
    if REGENERATE:
        expected_path.write_text(json.dumps(actual, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return
    assert expected_path.exists(), f"{expected_path.name} is missing: run with CPTS_REGENERATE_GOLDEN=1 and review it"
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    assert actual == expected


def test_every_expected_file_has_its_sample() -> None:
    samples = {case.name for case in CASES}
    orphans = [p.name for p in DATA.glob("*.expected.json") if p.name.replace(".expected.json", ".hl7") not in samples]
    assert orphans == []


# --- invariants over every sample -----------------------------------------------------------------------------------


def _all() -> Iterator[tuple[str, Prepared]]:
    for case in CASES:
        for prepared in run(case):
            yield case.stem, prepared


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _walk(child, f"{path}.{key}")
    elif isinstance(value, list):
        for n, child in enumerate(value):
            yield from _walk(child, f"{path}[{n}]")


def _declared_profiles(catalog: Catalog) -> dict[str, list[str]]:
    return {step.resource.name: step.resource.profile for compiled in catalog.hl7v2.values() for step in compiled.steps}


def test_no_empty_values_anywhere() -> None:
    for case, prepared in _all():
        for produced in prepared.produced:
            for path, value in _walk(produced.resource, produced.resource["resourceType"]):
                assert value not in ({}, [], "", None), f"{case}: {path} is empty"
                if isinstance(value, str):
                    assert value == value.strip(), f"{case}: {path} = {value!r}"


def test_resource_ids_are_unique_and_deterministic() -> None:
    for case, prepared in _all():
        keys = [(p.resource["resourceType"], p.resource["id"]) for p in prepared.produced]
        assert len(keys) == len(set(keys)), f"{case}: {keys}"
        for produced in prepared.produced:
            resource = produced.resource
            first = resource["identifier"][0]
            assert resource["id"] == deterministic_id(resource["resourceType"], first["system"], first["value"]), case


def test_references_are_conditional_with_system_and_value() -> None:
    for case, prepared in _all():
        for produced in prepared.produced:
            for path, value in _walk(produced.resource, produced.resource["resourceType"]):
                if path.endswith(".reference"):
                    match = CONDITIONAL.match(value)
                    assert match, f"{case}: {path} = {value!r} is not Type?identifier=system|value"


def test_references_point_at_resources_the_message_produces_or_the_tenant_holds() -> None:
    """Every conditional reference of an accepted message names a resource produced in the same message, or the
    patient whose IPP the message carries (produced there too), so nothing dangles after ingest."""
    for case, prepared in _all():
        if prepared.rejected:
            continue
        produced = {
            (p.resource["resourceType"], i["system"], i["value"])
            for p in prepared.produced
            for i in p.resource.get("identifier", [])
        }
        for p in prepared.produced:
            for path, value in _walk(p.resource, p.resource["resourceType"]):
                if path.endswith(".reference"):
                    match = CONDITIONAL.match(value)
                    assert match is not None
                    assert (match["type"], match["system"], match["value"]) in produced, f"{case}: {path} {value}"


def test_declared_profiles_are_present() -> None:
    declared = _declared_profiles(default_catalog())
    for case, prepared in _all():
        for produced in prepared.produced:
            profiles = produced.resource.get("meta", {}).get("profile", [])
            assert profiles[: len(declared[produced.mapping])] == declared[produced.mapping], case


def test_rejections_are_located() -> None:
    for case, prepared in _all():
        if prepared.rejected:
            assert prepared.issues, case
            assert all(issue.expression and all(issue.expression) for issue in prepared.issues), case
        else:
            assert prepared.issues == [], f"{case}: {prepared.issues}"


def _extensions(resource: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [e for e in resource.get("extension", []) if e.get("url") == url]


def _identity_statuses(patient: dict[str, Any]) -> set[str]:
    return {
        sub["valueCoding"]["code"]
        for ext in _extensions(patient, RELIABILITY)
        for sub in ext["extension"]
        if sub["url"] == "identityStatus"
    }


def test_an_ins_is_only_shared_for_a_qualified_identity() -> None:
    for case, prepared in _all():
        for produced in prepared.produced:
            patient = produced.resource
            if patient["resourceType"] != "Patient":
                continue
            if any(i["system"] in INS_SYSTEMS for i in patient["identifier"]):
                statuses = _identity_statuses(patient)
                assert statuses & {"VALI", "QUAL"} and not statuses & {"DOUT", "FICT"}, case


def test_patient_ins_profile_only_when_its_required_elements_are_there() -> None:
    """FR Core Patient INS: identity reliability, birth place with INSEE code, one official name with family, one
    given and the birth given names list, gender male/female/unknown, birth date, an INS identifier."""
    claimed = 0
    for case, prepared in _all():
        for produced in prepared.produced:
            patient = produced.resource
            if INS_PROFILE not in patient.get("meta", {}).get("profile", []):
                continue
            claimed += 1
            assert _identity_statuses(patient), case
            places = _extensions(patient, BIRTH_PLACE)
            assert len(places) == 1 and _extensions(places[0]["valueAddress"], INSEE), case
            official = [n for n in patient["name"] if n.get("use") == "official"]
            assert len(official) == 1, case
            assert official[0]["family"] and len(official[0]["given"]) == 1 and _extensions(official[0], BIRTH_LIST)
            assert patient["gender"] in ("male", "female", "unknown") and patient["birthDate"], case
            assert any(i["system"] in INS_SYSTEMS for i in patient["identifier"]), case
    assert claimed > 0


# --- the rules the samples were written for ---------------------------------------------------------------------------


def _one(case: str) -> Prepared:
    (prepared,) = run(DATA / f"{case}.hl7")
    return prepared


def _resources(prepared: Prepared, kind: str) -> list[dict[str, Any]]:
    return [p.resource for p in prepared.produced if p.resource["resourceType"] == kind]


def test_qualified_identity_shares_the_ins_and_claims_patient_ins() -> None:
    (patient,) = _resources(_one("pam-a04-qualified-ins"), "Patient")
    systems = [identifier["system"] for identifier in patient["identifier"]]
    assert systems == [f"urn:cpts-gateway:ipp:{TENANT}", "urn:oid:1.2.250.1.213.1.4.10"]
    assert INS_PROFILE in patient["meta"]["profile"]


def test_provisional_identity_keeps_its_ins_in_the_centre() -> None:
    (patient,) = _resources(_one("pam-a28-provisional-ins"), "Patient")
    assert [i["system"] for i in patient["identifier"]] == [f"urn:cpts-gateway:ipp:{TENANT}"]
    assert patient["meta"]["profile"] == ["https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"]


def test_a_patient_without_ipp_is_rejected_at_pid_3_not_keyed_on_its_ins() -> None:
    prepared = _one("pam-a04-no-ipp")
    assert prepared.rejected
    assert _resources(prepared, "Patient") == []
    assert [(i.details_code, i.expression) for i in prepared.issues] == [("MAP-ID", ("PID-3",))]


def test_doubtful_identity_keeps_its_ins_in_the_centre() -> None:
    (patient,) = _resources(_one("pam-a08-update-doubtful"), "Patient")
    assert _identity_statuses(patient) == {"VALI", "DOUT"}
    assert len(patient["identifier"]) == 1


def test_merge_and_identifier_change_record_their_action() -> None:
    merge, change = _one("pam-a40-merge"), _one("pam-a47-change-identifier")
    assert merge.action is not None
    assert (merge.action.fn, merge.action.args) == ("merge_patient", {"identifier": "MRG-1"})
    assert change.action is not None and change.action.fn == "change_identifier"
    assert not merge.rejected and not change.rejected


def test_local_times_skipped_or_repeated_by_dst_are_rejected_where_they_are() -> None:
    gap, overlap = _one("pam-a08-dst-gap"), _one("siu-s12-dst-overlap")
    assert gap.rejected and [(i.details_code, i.expression) for i in gap.issues] == [("MAP-DST", ("ZFA-10",))]
    assert overlap.rejected and ("MAP-DST", ("TQ1-7",)) in [(i.details_code, i.expression) for i in overlap.issues]


def test_latin9_names_are_decoded() -> None:
    (patient,) = _resources(_one("pam-a04-iso8859-15"), "Patient")
    assert patient["name"][0]["family"] == "CŒUR" and patient["address"][0]["city"] == "SAINT-ÉTIENNE"


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("siu-s12-new", "booked"),
        ("siu-s13-reschedule", "booked"),
        ("siu-s14-local-practitioner", "booked"),
        ("siu-s15-cancel", "cancelled"),
        ("siu-s17-delete", "cancelled"),
        ("siu-s26-noshow", "noshow"),
    ],
)
def test_siu_events_give_the_appointment_status(case: str, status: str) -> None:
    (appointment,) = _resources(_one(case), "Appointment")
    assert appointment["status"] == status


def test_zfa_consents_follow_what_was_collected() -> None:
    expected = {
        "ans-DMP-ConsentementConsultation_NonOppositionAlimentation": {"dmp-feed": "permit", "dmp-access": "permit"},
        "ans-DMP-NonConsentementConsultation_NonOppositionAlimentation": {"dmp-feed": "permit", "dmp-access": "deny"},
        "ans-DMP-NonConsentementConsultation_OppositionAlimentation": {"dmp-feed": "deny", "dmp-access": "deny"},
        "ans-DMP-NonRecueillieConsentementConsultation_NonOppositionAlimentation": {"dmp-feed": "permit"},
        "ans-DMP-NonRecueillieConsentementConsultation_NonRecueillieOppositionAlimentation": {},
    }
    for case, choices in expected.items():
        consents = _resources(_one(case), "Consent")
        found = {c["category"][1]["coding"][0]["code"]: c["provision"]["type"] for c in consents}
        assert found == choices, case
