"""The demo territory written as a centre's software would export it: per centre, the reference-format CSV exports
(slots, appointments, patients) and a GAP-style FHIR collection Bundle of its agenda. The conformance tests run the
suite on these files (``cpts-gateway conformance demo-export --out DIR``)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson

from conformance.checks.fhir import codings, identity_status, terms
from conformance.exports import PARIS
from gateway.demo import DemoOptions, generate_territory

AGENDA = ("Practitioner", "PractitionerRole", "Schedule", "Slot")
SERVICE = {"AMB": "cabinet", "HH": "domicile", "VR": "teleconsultation"}
STATUS = {
    "fulfilled": "honore", "noshow": "absent", "cancelled": "annule_patient", "booked": "planifie",
    "arrived": "arrive", "checked-in": "en_cours", "entered-in-error": "erreur", "pending": "planifie",
}  # fmt: skip
SLOT_STATUS = {"free": "libre", "busy": "reserve", "busy-unavailable": "bloque", "busy-tentative": "provisoire"}
SLOT_HEADER = [
    "id_creneau", "id_nat_ps", "debut", "fin", "statut", "snp", "cpts", "public", "modalite", "specialite", "type_rdv",
    "url_reservation",
]  # fmt: skip
GENDER = {"male": "M", "female": "F", "other": "I", "unknown": "U"}


def _local(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _idnps(practitioner: dict[str, Any]) -> str:
    system = terms()["idnps_system"]
    return str(next(i["value"] for i in practitioner.get("identifier", []) if i.get("system") == system))


def _target(reference: dict[str, Any]) -> str:
    return str(reference["reference"]).split("/")[1]


def _slot_row(slot: dict[str, Any], idnps: str) -> list[str]:
    types = {c.get("code") for c in (slot.get("meta") or {}).get("security", [])}
    services = [c.get("code") for s in slot.get("serviceType", []) for c in codings(s)]
    service = next((SERVICE[c] for c in services if c in SERVICE), "cabinet")
    specialty = next((c.get("code", "") for s in slot.get("specialty", []) for c in codings(s)), "")
    kind = next((c.get("code", "") for c in codings(slot.get("appointmentType"))), "").lower()
    yes = {True: "oui", False: "non"}
    return [
        slot["id"], idnps, _local(slot["start"]), _local(slot["end"]), SLOT_STATUS.get(slot["status"], "bloque"),
        yes["SNP" in types], yes["CPTS" in types], yes["PUBLIC" in types], service, specialty, kind,
        str(slot.get("comment", "")),
    ]  # fmt: skip


def _patient_row(patient: dict[str, Any]) -> list[str]:
    ipp = next(i["value"] for i in patient["identifier"] if i["system"].startswith("urn:cpts-gateway:ipp:"))
    name = next((n for n in patient.get("name", []) if n.get("use") == "official"), patient.get("name", [{}])[0])
    status = identity_status(patient) or ""
    ins = next((i for i in patient["identifier"] if i["system"] in terms()["ins_systems"]), None)
    if status not in terms()["identity_status"]["qualified"]:
        ins = None  # a labelled SI keeps the INS of a non-qualified identity to itself
    birth = date.fromisoformat(patient["birthDate"]).strftime("%d/%m/%Y") if patient.get("birthDate") else ""
    return [
        ipp, name.get("family", ""), " ".join(name.get("given", [])), birth, GENDER.get(patient.get("gender", ""), ""),
        status, ins["value"] if ins else "", ins["system"].removeprefix("urn:oid:") if ins else "",
    ]  # fmt: skip


def write_demo_exports(out: Path, *, centres: int = 2, days: int = 2, seed: int = 1) -> list[Path]:
    """Write the files; returns their paths."""
    today = datetime.now(PARIS).date()
    options = DemoOptions(centres=centres, days=days, seed=seed, start=today)
    by_tenant: dict[str, dict[str, dict[str, dict[str, Any]]]] = defaultdict(lambda: defaultdict(dict))
    for tenant, resource in generate_territory(options):
        if tenant:
            by_tenant[tenant][resource["resourceType"]][resource["id"]] = resource
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for tenant, kinds in sorted(by_tenant.items()):
        practitioners = kinds["Practitioner"]
        schedule_owner = {
            s["id"]: _idnps(practitioners[a["reference"].split("/")[1]])
            for s in kinds["Schedule"].values() for a in s["actor"] if a["reference"].startswith("Practitioner/")
        }  # fmt: skip
        slots = [_slot_row(s, schedule_owner[_target(s["schedule"])]) for s in kinds["Slot"].values()]
        written.append(_write(out / f"{tenant}-slots.csv", _csv(SLOT_HEADER, slots)))
        patients = kinds["Patient"]
        ipp = {pid: _patient_row(p)[0] for pid, p in patients.items()}
        rows = []
        for appointment in kinds["Appointment"].values():
            refs = [p["actor"]["reference"] for p in appointment["participant"]]
            who = next(r.split("/")[1] for r in refs if r.startswith("Practitioner/"))
            patient = next(r.split("/")[1] for r in refs if r.startswith("Patient/"))
            rows.append([
                appointment["id"], ipp[patient], _idnps(practitioners[who]), _local(appointment["start"]),
                _local(appointment["end"]), STATUS[appointment["status"]],
            ])  # fmt: skip
        header = ["id_rdv", "ipp", "id_nat_ps", "debut", "fin", "statut"]
        written.append(_write(out / f"{tenant}-appointments.csv", _csv(header, rows)))
        header = ["ipp", "nom_naissance", "prenoms", "date_naissance", "sexe", "statut_identite", "ins", "oid_ins"]
        written.append(
            _write(out / f"{tenant}-patients.csv", _csv(header, [_patient_row(p) for p in patients.values()]))
        )
        entries = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for k in AGENDA for r in kinds[k].values()]
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
        written.append(_write(out / f"{tenant}-agenda.json", orjson.dumps(bundle)))
    return written


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


__all__ = ["write_demo_exports"]
