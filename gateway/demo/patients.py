"""Patients of a centre (FR Core Patient / Patient INS style), with every identity status of the INS referential.

INS values use the *test* OID and are drawn as a NIR consistent with sex, birth year/month and birth commune plus
its key. A retrieved (RECUP) or qualified (QUAL) identity carries its INS; only QUAL ones may be shared.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from gateway.demo import codes, identifiers
from gateway.demo.codes import coding, concept, reference
from gateway.demo.gazetteer import Commune
from gateway.demo.structures import address_json
from gateway.demo.territory import CentreSpec, PractitionerSpec, Territory, phone_number, slug
from gateway.fhir.ids import deterministic_id

PATIENTS_PER_CENTRE = (130, 170)
STATUS_WEIGHTS = {"PROV": 20, "RECUP": 10, "VALI": 15, "QUAL": 55}
AGE_BANDS = ((0, 17, 20), (18, 39, 25), (40, 64, 30), (65, 95, 25))  # (youngest, oldest, weight)
WITH_GENERAL_PRACTITIONER = 0.85


@dataclass(frozen=True, slots=True)
class PatientSpec:
    id: str
    ipp: str
    identity_status: str
    general_practitioner: PractitionerSpec | None


def _birth_date(rng: random.Random, today: dt.date) -> dt.date:
    youngest, oldest, _ = rng.choices(AGE_BANDS, weights=[w for *_, w in AGE_BANDS])[0]
    age_days = rng.randint(youngest * 365 + 1, oldest * 365 + 364)
    return today - dt.timedelta(days=age_days)


def _reliability(rng: random.Random, status: str, birth: dt.date, today: dt.date) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {
            "url": "identityStatus",
            "valueCoding": coding(codes.IDENTITY_STATUS_SYSTEM, status, codes.IDENTITY_STATUSES[status]),
        }
    ]
    if status in ("VALI", "QUAL"):
        earliest = max(birth, today - dt.timedelta(days=5 * 365))
        validated = earliest + dt.timedelta(days=rng.randint(0, max(0, (today - earliest).days - 1)))
        minor = (validated - birth).days < 18 * 365
        mode = rng.choice(("LE", "AN")) if minor else rng.choices(("CN", "PA", "CS"), weights=(60, 25, 15))[0]
        parts.append({"url": "validationDate", "valueDate": validated.isoformat()})
        parts.append(
            {
                "url": "validationMode",
                "valueCoding": coding(codes.VALIDATION_MODE_SYSTEM, mode, codes.VALIDATION_MODES[mode]),
            }
        )
    return {"url": codes.IDENTITY_RELIABILITY_URL, "extension": parts}


def _birth_place(commune: Commune) -> dict[str, Any]:
    return {
        "url": codes.BIRTH_PLACE_URL,
        "valueAddress": {
            "extension": [{"url": codes.INSEE_CODE_URL, "valueCoding": coding(codes.COMMUNE_SYSTEM, commune.insee)}],
            "city": commune.name,
            "postalCode": commune.postal_codes[0],
            "country": "FRA",
        },
    }


def _patient(
    territory: Territory, centre: CentreSpec, rng: random.Random, n: int, status: str
) -> tuple[PatientSpec, dict[str, Any]]:
    gazetteer, today = territory.gazetteer, territory.options.start
    gender = "female" if rng.random() < 0.52 else "male"
    birth = _birth_date(rng, today)
    given = [gazetteer.given_name(rng, gender) for _ in range(rng.choice((1, 1, 2, 2, 3)))]
    given = list(dict.fromkeys(given))  # no repeated first names
    family = gazetteer.family_name(rng)
    born_in = gazetteer.birth_commune(rng)
    ipp = f"{n + 1:08d}"
    ipp_system = codes.IPP_SYSTEM_PREFIX + centre.finess
    patient_id = deterministic_id("Patient", ipp_system, ipp)

    extension = [_reliability(rng, status, birth, today)]
    if status in ("RECUP", "QUAL") or rng.random() < 0.4:
        extension.append(_birth_place(born_in))
    identifier: list[dict[str, Any]] = [
        {"use": "usual", "type": concept(codes.V2_IDENTIFIER_TYPE, "PI"), "system": ipp_system, "value": ipp}
    ]
    if status == "QUAL":  # the INS is shared only for a qualified identity; a retrieved one stays in the centre's SI
        nir = identifiers.nir(gender, birth, born_in.insee, rng.randint(1, 999))
        identifier.append(
            {
                "use": "official",
                "type": concept(codes.FR_IDENTIFIER_TYPE, "INS-NIR-TEST", "NIR TEST"),
                "system": codes.INS_NIR_TEST_SYSTEM,
                "value": identifiers.ins(nir),
            }
        )
    names: list[dict[str, Any]] = [
        {
            "extension": [{"url": codes.BIRTH_LIST_GIVEN_NAME_URL, "valueString": " ".join(given)}],
            "use": "official",
            "family": family,
            "given": [given[0]],
        }
    ]
    if gender == "female" and (today - birth).days > 25 * 365 and rng.random() < 0.35:
        names.append({"use": "usual", "family": gazetteer.family_name(rng), "given": [given[0]]})
    telecom: list[dict[str, Any]] = []
    if rng.random() < 0.85:
        telecom.append({"system": "phone", "value": phone_number(rng, mobile=True), "use": "mobile"})
    if rng.random() < 0.4:
        email = f"{slug(given[0])}.{slug(family)}{rng.randint(1, 99)}@courriel-demo.example"
        telecom.append({"system": "email", "value": email, "use": "home"})
    home = gazetteer.address(rng, centre.address.commune if rng.random() < 0.7 else None)

    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_id,
        "extension": extension,
        "identifier": identifier,
        "active": True,
        "name": names,
    }
    if telecom:
        resource["telecom"] = telecom
    resource["gender"] = gender
    resource["birthDate"] = birth.isoformat()
    resource["address"] = [address_json(home, use="home")]
    gp = rng.choice(centre.gps) if centre.gps and rng.random() < WITH_GENERAL_PRACTITIONER else None
    if gp is not None:
        resource["generalPractitioner"] = [reference("PractitionerRole", gp.role_id, gp.display)]
    return PatientSpec(patient_id, ipp, status, gp), resource


def centre_patients(territory: Territory, centre: CentreSpec) -> list[tuple[PatientSpec, dict[str, Any]]]:
    """The patients of one centre (about 150); the first four cover every identity status."""
    rng = random.Random(f"{territory.options.seed}/patients/{centre.finess}")
    count = rng.randint(*PATIENTS_PER_CENTRE)
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    result = []
    for n in range(count):
        status = statuses[n] if n < len(statuses) else rng.choices(statuses, weights=weights)[0]
        result.append(_patient(territory, centre, rng, n, status))
    return result


__all__ = ["PATIENTS_PER_CENTRE", "STATUS_WEIGHTS", "PatientSpec", "centre_patients"]
