"""Identity: INS only on qualified identities, identity status, national identifiers and their check keys (IDN-*)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from conformance.checks.fhir import (
    Resource,
    finess_problem,
    identifiers,
    identity_status,
    idnps_problem,
    idnst_problem,
    ins_problem,
    terms,
)
from conformance.exports import Record
from conformance.model import Message, Omit
from conformance.registry import check, group

IDENTITY = group("identity", "Identity", "Patient identity (INS, identity status) and national identifiers.")
FR_CORE = "FR Core 2.1.0 (fr-core-patient-ins, fr-core-identity-reliability)"
PATIENT_RECORDS = ("csv:patients", "hl7v2", "fhir")


def _patients(record: Record) -> list[Resource]:
    found = [r for r in record.resources if r.get("resourceType") == "Patient"]
    if not found and not record.kind.startswith("csv:patients"):
        raise Omit("no patient")
    return found


def _ins(patient: Resource) -> list[tuple[int, str]]:
    return [pair for system in terms()["ins_systems"] for pair in identifiers(patient, system)]


@check(
    "ins-qualified-only",
    title="An INS is exported only for a qualified identity",
    description="A patient whose identity status is not QUAL carries no INS (the INS may be shared only for a "
    "qualified identity; otherwise it stays in the centre software).",
    source=f"{FR_CORE}; label e-santé CDS identity vigilance (RNIV)", verifies=["IDN-01"], group=IDENTITY,
    kind="record", applies=PATIENT_RECORDS,
    fix="Export the INS (ins, PID-3 INS repetition, Patient.identifier) only when the identity status is QUAL.",
)  # fmt: skip
def ins_qualified_only(record: Record) -> Iterator[Message]:
    qualified = set(terms()["identity_status"]["qualified"])
    if record.kind.startswith("csv:"):
        ins, status = record.value("ins"), record.value("identity_status")
        if ins and str(status or "").upper() not in qualified:
            yield Message(f"an INS is given for an identity whose status is {status or 'absent'}", record.cell("ins"))
        return
    for patient in _patients(record):
        status = identity_status(patient)
        for index, _value in _ins(patient):
            if status not in qualified:
                where = record.where(patient, f"identifier[{index}]")
                yield Message(f"an INS is given for an identity whose status is {status or 'absent'}", where)


@check(
    "identity-status",
    title="Every patient carries its identity status",
    description="Each patient has an identity status of fr-core-cs-v2-0445: PROV, RECUP, VALI or QUAL.",
    source=FR_CORE, verifies=["IDN-02", "TRM-05"], group=IDENTITY, kind="record", applies=PATIENT_RECORDS,
    fix="Fill statut_identite (PID-32, or the fr-core-identity-reliability extension) for every patient.",
)  # fmt: skip
def identity_status_present(record: Record) -> Iterator[Message]:
    codes = set(terms()["identity_status"]["codes"])
    for patient in _patients(record):
        status = identity_status(patient)
        where = record.where(patient, "extension('fr-core-identity-reliability')", "identity_status")
        if status is None:
            yield Message("the patient has no identity status", where)
        elif status not in codes:
            yield Message(f"identity status {status!r} is not one of {', '.join(sorted(codes))}", where)


@check(
    "ins-format",
    title="INS values carry their key",
    description="An INS-NIR is 15 characters: the NIR and its key (97 - NIR mod 97).",
    source="FR Core fr-core-patient-ins; INS referential", verifies=["IDN-03"], group=IDENTITY, kind="record",
    applies=PATIENT_RECORDS, fix="Export the INS as the INSi service returned it, all 15 characters.",
)  # fmt: skip
def ins_format(record: Record) -> Iterator[Message]:
    if record.kind.startswith("csv:"):
        ins = record.value("ins")
        if ins:
            problem = ins_problem(str(ins).replace(" ", ""))
            if problem:
                yield Message(problem, record.cell("ins"))
        return
    for patient in _patients(record):
        for index, value in _ins(patient):
            problem = ins_problem(value)
            if problem:
                yield Message(problem, record.where(patient, f"identifier[{index}].value"))


def _walk(node: Any, path: str, system: str) -> Iterator[tuple[str, str]]:
    """(path, value) of every identifier of ``system`` under ``node``, including conditional references."""
    if isinstance(node, dict):
        if node.get("system") == system and isinstance(node.get("value"), str):
            yield f"{path}.value", node["value"]
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and f"{system}|" in value:
                yield f"{path}.reference", value.split(f"{system}|", 1)[1]
            elif isinstance(value, (dict, list)):
                yield from _walk(value, f"{path}.{key}" if path else key, system)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, f"{path}[{index}]", system)


def _identifier_check(record: Record, system: str, judge: Any) -> Iterator[Message]:
    seen: set[str] = set()
    found = False
    needle = system.encode()
    for index, resource in enumerate(record.resources):
        if needle not in record.text(index):
            continue
        for path, value in _walk(resource, "", system):
            found = True
            if value in seen:
                continue
            seen.add(value)
            problem = judge(value)
            if problem:
                yield Message(problem, record.where(resource, path))
    if not found:
        raise Omit("no identifier of this system")


@check(
    "idnps-format",
    title="idNat_PS are 8 + RPPS with its Luhn key (or 0 + ADELI)",
    description="Every professional identifier in urn:oid:1.2.250.1.71.4.2.1, in resources and conditional "
    "references, is 8 + an 11-digit RPPS whose last digit is its Luhn key, or 0 + a 9-digit ADELI.",
    source="FR Core (fr-core-cs-v2-0203 IDNPS); RPPS register", verifies=["IDN-04", "PTW-04"], group=IDENTITY,
    kind="record", fix="Export the professional's idNat_PS from the RPPS register (8 + RPPS), never a local number.",
)  # fmt: skip
def idnps_format(record: Record) -> Iterator[Message]:
    yield from _identifier_check(record, terms()["idnps_system"], idnps_problem)


@check(
    "idnst-format",
    title="idNat_Struct are 1 + FINESS with its key",
    description="Every structure identifier in urn:oid:1.2.250.1.71.4.2.2 is 1 + a FINESS number with a valid "
    "key (or 3 + SIRET, 4 + RPPS rang).",
    source="FR Core (fr-core-cs-v2-0203 IDNST)", verifies=["IDN-05"], group=IDENTITY, kind="record",
    fix="Write the idNat_Struct as 1 followed by the 9-character FINESS of the structure.",
)  # fmt: skip
def idnst_format(record: Record) -> Iterator[Message]:
    yield from _identifier_check(record, terms()["idnst_system"], idnst_problem)


@check(
    "finess-format",
    title="FINESS numbers carry their key",
    description="Every FINESS number (https://finess.esante.gouv.fr identifiers and conditional references) has 9 "
    "characters and, outside Corsica, a valid Luhn key.",
    source="FINESS register; mappings/csv/README.md (Value formats)", verifies=["IDN-06"], group=IDENTITY,
    kind="record", fix="Copy the FINESS number from the FINESS register, with its last digit.",
)  # fmt: skip
def finess_format(record: Record) -> Iterator[Message]:
    yield from _identifier_check(record, terms()["finess_system"], finess_problem)


@check(
    "ins-identity-traits",
    title="Patients with an INS carry the INS identity traits",
    description="A patient exported with an INS has an official (birth) name with family and given name, a sex and "
    "a birth date, as fr-core-patient-ins requires.",
    source="FR Core fr-core-patient-ins", verifies=["IDN-07"], group=IDENTITY, kind="record", applies=PATIENT_RECORDS,
    fix="Export the birth name, first birth given name, sex and birth date with every INS.",
)  # fmt: skip
def ins_identity_traits(record: Record) -> Iterator[Message]:
    patients = [p for p in _patients(record) if _ins(p)]
    if not patients:
        raise Omit("no patient with an INS")
    for patient in patients:
        official = [n for n in patient.get("name") or [] if isinstance(n, dict) and n.get("use") == "official"]
        if not official or not official[0].get("family") or not official[0].get("given"):
            yield Message("no official name with family and given name", record.where(patient, "name", "family"))
        for element, cell in (("gender", "gender"), ("birthDate", "birth_date")):
            if not patient.get(element):
                yield Message(f"{element} is missing", record.where(patient, element, cell))


__all__ = ["IDENTITY"]
