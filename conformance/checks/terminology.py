"""Terminology: TRE_R314 slot types, TRE_R38 specialties, v2-0276 appointment types, ActCode service types (TRM-*).

The accepted systems and codes are data: ``conformance/terminology.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from conformance.checks.fhir import Resource, codings, terms
from conformance.exports import Record
from conformance.model import Message, Omit
from conformance.registry import check, group

TERMINOLOGY = group("terminology", "Terminology", "Code systems and codes of the French agenda and SAS guides.")


@lru_cache(maxsize=1)
def _specialty() -> tuple[str, re.Pattern[str]]:
    spec = terms()["specialties"]
    return str(spec["system"]), re.compile(str(spec["pattern"]))


@check(
    "slot-type-codes",
    title="Slot types are TRE_R314 codes",
    description="Every meta.security coding of a Slot is PUBLIC, PRO, SNP or CPTS in the TRE_R314 system.",
    source="SAS 1.2.0 (sas-cpts-valueset-typecreneau); NOS TRE_R314", verifies=["TRM-01"], group=TERMINOLOGY,
    kind="resource", applies=["Slot"],
    fix="Use https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau with PUBLIC/PRO/SNP/CPTS.",
)  # fmt: skip
def slot_type_codes(record: Record, slot: Resource) -> Iterator[Message]:
    spec = terms()["slot_types"]
    for index, coding in enumerate((slot.get("meta") or {}).get("security") or []):
        if (
            not isinstance(coding, dict)
            or coding.get("system") != spec["system"]
            or coding.get("code") not in spec["codes"]
        ):
            where = record.where(slot, f"meta.security[{index}]")
            yield Message(f"{coding.get('system')}#{coding.get('code')} is not a TRE_R314 slot type", where)


@check(
    "specialty-codes",
    title="Specialties are TRE_R38 codes",
    description="Every specialty of a Slot, Schedule, Appointment or PractitionerRole is a TRE_R38 code (SM54...) in "
    "the TRE_R38 system.",
    source="NOS TRE_R38-SpecialiteOrdinale", verifies=["TRM-02"], group=TERMINOLOGY, kind="resource",
    applies=["Slot", "Schedule", "Appointment", "PractitionerRole"],
    fix="Export the ordinal specialty code (SM54 for general medicine), not its label or a local code.",
)  # fmt: skip
def specialty_codes(record: Record, resource: Resource) -> Iterator[Message]:
    system, pattern = _specialty()
    concepts = resource.get("specialty") or []
    if not concepts:
        raise Omit("no specialty")
    for index, concept in enumerate(concepts):
        for coding in codings(concept):
            code = str(coding.get("code", ""))
            if coding.get("system") != system or not pattern.match(code):
                where = record.where(resource, f"specialty[{index}]", "specialty")
                yield Message(f"{coding.get('system')}#{code} is not a TRE_R38 specialty", where)


@check(
    "appointment-type-codes",
    title="Slot appointment types are v2-0276 ROUTINE or WALKIN",
    description="Slot.appointmentType is coded in v2-0276 with ROUTINE or WALKIN.",
    source="HL7 v2-0276; SAS 1.2.0 (sas-valueset-appointmentreason)", verifies=["TRM-03"], group=TERMINOLOGY,
    kind="resource", applies=["Slot"], fix="Use ROUTINE (scheduled) or WALKIN (unscheduled care) from v2-0276.",
)  # fmt: skip
def appointment_type_codes(record: Record, slot: Resource) -> Iterator[Message]:
    spec = terms()["appointment_types"]
    found = codings(slot.get("appointmentType"))
    if not found:
        raise Omit("no appointment type")
    for coding in found:
        if coding.get("system") != spec["system"] or coding.get("code") not in spec["codes"]:
            where = record.where(slot, "appointmentType", "appointment_type")
            yield Message(f"{coding.get('system')}#{coding.get('code')} is not v2-0276 ROUTINE/WALKIN", where)


@check(
    "service-type-codes",
    title="Service types are ActCode AMB/HH/VR or TRE_R66 604",
    description="Every Slot.serviceType coding is v3-ActCode AMB, HH or VR, or TRE_R66 604 for a CPTS slot.",
    source="HL7 v3-ActCode; NOS TRE_R66; SAS 1.2.0 (Slot.serviceType)", verifies=["TRM-04"], group=TERMINOLOGY,
    kind="resource", applies=["Slot"], fix="Code the consultation type AMB, HH or VR in v3-ActCode.",
)  # fmt: skip
def service_type_codes(record: Record, slot: Resource) -> Iterator[Message]:
    allowed = {(s["system"], str(c)) for s in terms()["service_types"] for c in s["codes"]}
    for index, concept in enumerate(slot.get("serviceType") or []):
        for coding in codings(concept):
            if (coding.get("system"), str(coding.get("code"))) not in allowed:
                where = record.where(slot, f"serviceType[{index}]", "service")
                yield Message(f"{coding.get('system')}#{coding.get('code')} is not an allowed service type", where)


__all__ = ["TERMINOLOGY"]
