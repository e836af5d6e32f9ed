"""The synthetic demo territory: determinism, identifiers and their keys, references, agenda rules, DST, validity."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import random
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

import gateway.demo
from gateway.demo import DemoOptions, generate_territory
from gateway.demo.holidays import easter_sunday, is_closed
from gateway.demo.identifiers import ins, ins_is_valid, luhn_is_valid, luhn_key, nir_key
from gateway.errors import ValidationFailed
from gateway.fhir.ids import is_valid_id
from gateway.fhir.validation import validate_resource

Resource = dict[str, Any]
Stream = list[tuple[str | None, Resource]]

START = dt.date(2026, 11, 20)  # a Friday: today, Saturday, Sunday and Monday must all offer free SNP + CPTS slots
PARIS = ZoneInfo("Europe/Paris")
FR_TYPE = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
SLOT_TYPE = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
RELIABILITY = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability"
BIRTH_PLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
FINAL = {"fulfilled", "noshow", "cancelled"}


def generate(**options: Any) -> Stream:
    return list(generate_territory(DemoOptions(**{"start": START, **options})))


def of_type(stream: Stream, resource_type: str) -> list[Resource]:
    return [r for _, r in stream if r["resourceType"] == resource_type]


def references(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def identifier(resource: Resource, system: str) -> dict[str, Any]:
    return next(i for i in resource["identifier"] if i["system"] == system)


def security(slot: Resource) -> set[str]:
    return {c["code"] for c in slot["meta"]["security"]}


def local_day(instant: str) -> dt.date:
    return dt.date.fromisoformat(instant[:10])


def digest(stream: Iterator[tuple[str | None, Resource]]) -> str:
    h = hashlib.sha256()
    for tenant, resource in stream:
        h.update(orjson.dumps([tenant, resource]))
    return h.hexdigest()


@pytest.fixture(scope="module")
def territory() -> Stream:
    return generate(centres=4, days=10)


# --- API and determinism ---------------------------------------------------------------------------------------------


def test_public_api_is_exported() -> None:
    assert sorted(gateway.demo.__all__) == gateway.demo.__all__
    for name in gateway.demo.__all__:
        assert getattr(gateway.demo, name) is not None


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="centres"):
        DemoOptions(centres=0, start=START)
    with pytest.raises(ValueError, match="days"):
        DemoOptions(days=-1, start=START)
    assert DemoOptions(start=START, days=2).first_day == dt.date(2026, 11, 18)
    assert isinstance(DemoOptions().start, dt.date)  # defaults to today in Europe/Paris


def test_same_options_give_byte_identical_output_whatever_the_global_random_state() -> None:
    options = DemoOptions(centres=3, days=3, seed=7, start=START)
    random.seed(1)
    first = digest(generate_territory(options))
    random.seed(2)
    assert digest(generate_territory(options)) == first
    assert digest(generate_territory(DemoOptions(centres=3, days=3, seed=8, start=START))) != first


def test_generation_is_lazy() -> None:
    started = time.perf_counter()
    stream = generate_territory(DemoOptions(centres=200, days=28, start=START))
    first = [next(stream) for _ in range(50)]
    assert time.perf_counter() - started < 5
    assert first[0][1]["resourceType"] == "Organization"


def test_memory_does_not_grow_with_the_number_of_days() -> None:
    def peak(days: int) -> int:
        tracemalloc.start()
        try:
            for _ in generate_territory(DemoOptions(centres=2, days=days, start=START)):
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    short, long = peak(2), peak(20)
    assert long < short + 1_000_000, (short, long)


# --- identifiers ------------------------------------------------------------------------------------------------------


def test_check_keys() -> None:
    assert luhn_is_valid("79927398713")
    assert not luhn_is_valid("79927398710")
    assert luhn_key("7992739871") == "3"
    assert nir_key("1850375238001") == f"{97 - 1850375238001 % 97:02d}"
    assert ins_is_valid(ins("2690299341732"))
    assert not ins_is_valid("269029934173200")
    assert nir_key("185032A123001") == f"{97 - 1850319123001 % 97:02d}"  # Corsica counts 2A as 19


def test_organizations_have_finess_with_luhn_key_and_idnst(territory: Stream) -> None:
    organizations = [(tenant, r) for tenant, r in territory if r["resourceType"] == "Organization"]
    assert len(organizations) == 5
    centre_finess = set()
    for tenant, org in organizations:
        finess = identifier(org, "https://finess.esante.gouv.fr")["value"]
        assert len(finess) == 9 and finess.startswith("35") and luhn_is_valid(finess)
        idnst = identifier(org, "urn:oid:1.2.250.1.71.4.2.2")
        assert idnst["value"] == "1" + finess
        assert idnst["type"]["coding"][0] == {"system": FR_TYPE, "code": "IDNST"}
        if "partOf" in org:
            assert tenant == finess
            centre_finess.add(finess)
        else:
            assert tenant is None and org["type"][0]["coding"][0]["code"] == "604"
    assert {tenant for tenant, _ in territory} - {None} == centre_finess


def test_only_cpts_resources_have_no_tenant(territory: Stream) -> None:
    untenanted = [r for tenant, r in territory if tenant is None]
    assert [r["resourceType"] for r in untenanted] == ["Organization", "HealthcareService"]


def test_practitioners_have_rpps_and_idnat_ps_with_luhn_key(territory: Stream) -> None:
    practitioners = of_type(territory, "Practitioner")
    assert 4 * 6 <= len(practitioners) <= 4 * 10
    for practitioner in practitioners:
        rpps = identifier(practitioner, "https://rpps.esante.gouv.fr")
        idnat = identifier(practitioner, "urn:oid:1.2.250.1.71.4.2.1")
        assert len(rpps["value"]) == 11 and luhn_is_valid(rpps["value"])
        assert idnat["value"] == "8" + rpps["value"] and luhn_is_valid(idnat["value"][1:])
        assert rpps["type"]["coding"][0]["code"] == "RPPS" and idnat["type"]["coding"][0]["code"] == "IDNPS"


def test_patients_carry_ins_only_for_qualified_identities(territory: Stream) -> None:
    patients = of_type(territory, "Patient")
    assert 4 * 130 <= len(patients) <= 4 * 170
    statuses: collections.Counter[str] = collections.Counter()
    for patient in patients:
        reliability = next(e for e in patient["extension"] if e["url"] == RELIABILITY)
        parts = {e["url"]: e for e in reliability["extension"]}
        status = parts["identityStatus"]["valueCoding"]["code"]
        statuses[status] += 1
        assert ("validationDate" in parts) == ("validationMode" in parts) == (status in ("VALI", "QUAL"))
        ipp = next(i for i in patient["identifier"] if i["type"]["coding"][0]["code"] == "PI")
        assert ipp["system"].startswith("urn:cpts-gateway:ipp:35")
        ins_ids = [i for i in patient["identifier"] if i["system"] == "urn:oid:1.2.250.1.213.1.4.10"]
        assert bool(ins_ids) == (status == "QUAL")  # a retrieved INS stays in the centre's SI (not shared)
        for ins_id in ins_ids:
            value = ins_id["value"]
            assert ins_id["type"]["coding"][0] == {"system": FR_TYPE, "code": "INS-NIR-TEST", "display": "NIR TEST"}
            assert len(value) == 15 and ins_is_valid(value)
            assert value[0] == ("1" if patient["gender"] == "male" else "2")
            assert value[1:5] == patient["birthDate"][2:4] + patient["birthDate"][5:7]
            place = next(e for e in patient["extension"] if e["url"] == BIRTH_PLACE)
            assert value[5:10] == place["valueAddress"]["extension"][0]["valueCoding"]["code"]
        official = [n for n in patient["name"] if n["use"] == "official"]
        assert len(official) == 1 and official[0]["family"] and len(official[0]["given"]) == 1
    assert set(statuses) == {"PROV", "RECUP", "VALI", "QUAL"}


# --- references and ids -----------------------------------------------------------------------------------------------


def test_every_reference_resolves_to_an_earlier_resource(territory: Stream) -> None:
    seen: set[str] = set()
    for _, resource in territory:
        local = {f"#{c['id']}" for c in resource.get("contained", [])}
        for ref in references(resource):
            assert ref in seen or ref in local, f"{resource['resourceType']}/{resource['id']} refers to unknown {ref}"
        seen.add(f"{resource['resourceType']}/{resource['id']}")


def test_ids_are_valid_and_unique_per_type(territory: Stream) -> None:
    seen: set[tuple[str, str]] = set()
    for _, resource in territory:
        key = (resource["resourceType"], resource["id"])
        assert is_valid_id(resource["id"]) and key not in seen
        seen.add(key)


def test_no_empty_or_null_values(territory: Stream) -> None:
    def check(node: object, path: str) -> None:
        assert node not in ("", [], {}, None), path
        if isinstance(node, dict):
            for key, value in node.items():
                check(value, f"{path}.{key}")
        elif isinstance(node, list):
            for n, value in enumerate(node):
                check(value, f"{path}[{n}]")

    for _, resource in territory:
        check(resource, resource["resourceType"])


def test_resources_share_no_mutable_objects(territory: Stream) -> None:
    """Consumers may modify what they receive (e.g. add meta.versionId): no dict or list is reused."""
    owner: dict[int, str] = {}

    def walk(node: object, key: str) -> None:
        if isinstance(node, dict | list):
            assert owner.setdefault(id(node), key) == key, f"{key} shares an object with {owner[id(node)]}"
            for value in node.values() if isinstance(node, dict) else node:
                walk(value, key)

    for _, resource in territory:
        walk(resource, f"{resource['resourceType']}/{resource['id']}")


# --- agenda -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "centres"),
    [
        (START, 1),  # Friday, Saturday, Sunday (duty roster of the only centre), Monday
        (START, 4),
        (dt.date(2026, 11, 10), 2),  # 11 November is a public holiday
        (dt.date(2026, 12, 24), 1),  # Christmas, then a weekend
    ],
)
def test_free_snp_and_cpts_slots_today_and_in_the_next_three_days(start: dt.date, centres: int) -> None:
    slots = [
        r
        for _, r in generate_territory(DemoOptions(centres=centres, days=4, start=start))
        if r["resourceType"] == "Slot"
    ]
    for offset in range(4):
        day = start + dt.timedelta(days=offset)
        free = [s for s in slots if s["status"] == "free" and local_day(s["start"]) == day]
        assert any("SNP" in security(s) for s in free), day
        cpts = [s for s in free if "CPTS" in security(s)]
        assert cpts, day
        for slot in cpts:
            marker = slot["serviceType"][-1]
            assert marker["coding"][0]["code"] == "604"
            assert marker["extension"][0]["valueReference"]["reference"].startswith("HealthcareService/")


def test_closed_days_only_have_the_duty_roster() -> None:
    assert easter_sunday(2026) == dt.date(2026, 4, 5) and easter_sunday(2025) == dt.date(2025, 4, 20)
    assert is_closed(dt.date(2026, 5, 14)) and is_closed(dt.date(2026, 11, 22)) and not is_closed(START)
    slots = of_type(generate(centres=3, days=3), "Slot")
    sunday = [s for s in slots if local_day(s["start"]) == dt.date(2026, 11, 22)]
    assert sunday and all(security(s) == {"SNP", "CPTS"} for s in sunday)
    assert len({s["schedule"]["reference"] for s in sunday}) == 1


def test_slot_codes_come_from_their_value_sets(territory: Stream) -> None:
    for slot in of_type(territory, "Slot"):
        assert {c["system"] for c in slot["meta"]["security"]} == {SLOT_TYPE}
        assert security(slot) <= {"PUBLIC", "PRO", "SNP", "CPTS"}
        act = slot["serviceType"][0]["coding"][0]
        assert act["system"] == ACT_CODE and act["code"] in ("AMB", "HH", "VR")
        walk_in = slot["appointmentType"]["coding"][0]["code"] == "WALKIN"
        assert walk_in == ("SNP" in security(slot))
        assert slot["comment"].startswith("https://") and slot["end"] > slot["start"]
    professions = {c["code"] for r in of_type(territory, "PractitionerRole") for c in r["code"][0]["coding"]}
    assert professions <= {"10", "21", "40", "50", "60", "70", "80"} and {"10", "60"} <= professions


def test_appointment_status_mix(territory: Stream) -> None:
    past = [a for a in of_type(territory, "Appointment") if local_day(a["start"]) < START]
    mix = collections.Counter(a["status"] for a in past)
    assert set(mix) == FINAL
    share = {status: count / len(past) for status, count in mix.items()}
    assert 0.74 <= share["fulfilled"] <= 0.86
    assert 0.04 <= share["noshow"] <= 0.10
    assert 0.09 <= share["cancelled"] <= 0.17


def test_appointments_match_their_slots_and_the_demo_today(territory: Stream) -> None:
    slots = {s["id"]: s for s in of_type(territory, "Slot")}
    midnight = dt.datetime(START.year, START.month, START.day, tzinfo=PARIS)
    booked_slots: collections.Counter[str] = collections.Counter()
    for appointment in of_type(territory, "Appointment"):
        slot = slots[appointment["slot"][0]["reference"].removeprefix("Slot/")]
        start = dt.datetime.fromisoformat(appointment["start"])
        assert (appointment["start"], appointment["end"]) == (slot["start"], slot["end"])
        assert dt.datetime.fromisoformat(appointment["created"]) < min(start, midnight)
        if start >= midnight:
            assert appointment["status"] == "booked"
        else:
            assert appointment["status"] in FINAL
        assert ("cancelationReason" in appointment) == (appointment["status"] == "cancelled")
        assert slot["status"] == ("free" if appointment["status"] == "cancelled" else "busy")
        if appointment["status"] != "cancelled":
            booked_slots[slot["id"]] += 1
        actors = [p["actor"]["reference"].split("/")[0] for p in appointment["participant"]]
        assert actors[:2] == ["Patient", "Practitioner"]
        assert all(p["status"] == "accepted" for p in appointment["participant"])
    busy = {s["id"] for s in slots.values() if s["status"] == "busy"}
    assert set(booked_slots) == busy and max(booked_slots.values()) == 1


@pytest.mark.parametrize(
    ("start", "change", "before", "after"),
    [
        (dt.date(2026, 3, 29), dt.date(2026, 3, 29), "+01:00", "+02:00"),
        (dt.date(2026, 10, 25), dt.date(2026, 10, 25), "+02:00", "+01:00"),
    ],
)
def test_daylight_saving_days(start: dt.date, change: dt.date, before: str, after: str) -> None:
    stream = list(generate_territory(DemoOptions(centres=1, days=3, start=start)))
    slots = of_type(stream, "Slot")
    assert any(local_day(s["start"]) == change for s in slots)  # the duty roster works on that Sunday
    for slot in slots:
        for instant in (slot["start"], slot["end"]):
            assert instant.endswith(before if local_day(instant) < change else after), instant
            moment = dt.datetime.fromisoformat(instant)
            assert moment.astimezone(PARIS).replace(tzinfo=None) == moment.replace(tzinfo=None)
    for appointment in of_type(stream, "Appointment"):
        moment = dt.datetime.fromisoformat(appointment["created"])
        assert moment.astimezone(PARIS).utcoffset() == moment.utcoffset()


# --- care teams and médecin traitant ----------------------------------------------------------------------------------


def test_care_teams_name_the_medecin_traitant_and_span_centres(territory: Stream) -> None:
    roles = {r["id"]: r for r in of_type(territory, "PractitionerRole")}
    patients = {p["id"]: p for p in of_type(territory, "Patient")}
    with_gp = [p for p in patients.values() if "generalPractitioner" in p]
    assert 0.75 <= len(with_gp) / len(patients) <= 0.95
    for patient in with_gp:
        role = roles[patient["generalPractitioner"][0]["reference"].removeprefix("PractitionerRole/")]
        assert role["specialty"][0]["coding"][0]["code"] == "SM54"
    teams = of_type(territory, "CareTeam")
    assert teams and len({t["subject"]["reference"] for t in teams}) == len(teams)
    for team in teams:
        patient = patients[team["subject"]["reference"].removeprefix("Patient/")]
        pcp = [p for p in team["participant"] if "role" in p]
        assert len(pcp) == 1 and pcp[0]["role"][0]["coding"][0]["code"] == "PCP"
        assert pcp[0]["member"]["reference"] == patient["generalPractitioner"][0]["reference"]
        members = [roles[p["member"]["reference"].removeprefix("PractitionerRole/")] for p in team["participant"]]
        assert len({m["organization"]["reference"] for m in members}) >= 2
        team_start = dt.datetime.fromisoformat(team["period"]["start"])
        assert all(dt.datetime.fromisoformat(p["period"]["start"]) >= team_start for p in team["participant"])


# --- FHIR validity ----------------------------------------------------------------------------------------------------


def test_a_small_territory_is_valid_fhir() -> None:
    failures = []
    count = 0
    for _, resource in generate_territory(DemoOptions(centres=2, days=3, start=START)):
        count += 1
        try:
            validate_resource(resource, expected_type=resource["resourceType"])
        except ValidationFailed as exc:
            failures.append(f"{resource['resourceType']}/{resource['id']}: {exc}")
    assert count > 1000
    assert not failures, failures[:5]
