"""What every slot source carries for the SAS and the coordinators (CSV slots and practitioners, SIU), pinned on the
golden samples (tests/data/csv, tests/data/hl7v2), and the capacity transforms (coordinates, appointment types)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.ingest.prepare import prepare
from gateway.ingest.records import ReadSummary, csv_records, hl7_records
from mappings.catalog import default_catalog
from mappings.functions.capacity import position, slot_appointment_type
from mappings.registry import MapContext, MappingProblem

DATA = Path(__file__).resolve().parents[1] / "data"
ZONE = ZoneInfo("Europe/Paris")
SLOT_TYPES = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
CPTS_SERVICE_TYPE = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Slot.serviceType"
CTX = MapContext("759900426", ZONE)


def csv_resources(vendor: str, export: str, case: str) -> list[dict[str, Any] | None]:
    """Per row: the resources by type (None for a rejected row)."""
    path = DATA / "csv" / vendor / export / case
    records = csv_records(path.read_bytes(), path.name, default_catalog(), export, vendor, ZONE, ReadSummary())
    rows: list[dict[str, Any] | None] = []
    for record in records:
        prepared = prepare(record, default_catalog(), CTX)
        rows.append(None if prepared.rejected else {p.resource["resourceType"]: p.resource for p in prepared.produced})
    return rows


def summary(slot: dict[str, Any]) -> tuple[list[str], list[str], str, str | None]:
    return (
        [label["code"] for label in slot["meta"]["security"] if label["system"] == SLOT_TYPES],
        [concept["coding"][0]["code"] for concept in slot["serviceType"]],
        slot["appointmentType"]["coding"][0]["code"],
        slot.get("comment"),
    )


def test_capacity_csv_slots_carry_what_the_sas_reads() -> None:
    rows = csv_resources("reference", "slots", "capacity.csv")
    url = "https://rdv.cds-lilas.example/martin"
    assert rows[3] is None  # type_rdv "urgent" is not an appointment type
    slots = [row["Slot"] for row in rows if row is not None]
    assert [summary(slot) for slot in slots] == [
        (["SNP", "CPTS"], ["AMB", "604"], "WALKIN", url),
        (["PUBLIC", "CPTS"], ["VR", "604"], "WALKIN", url),  # type_rdv wins over the SNP flag
        (["SNP"], ["HH"], "ROUTINE", None),
    ]
    cpts = slots[0]["serviceType"][1]
    assert cpts["extension"] == [
        {"url": CPTS_SERVICE_TYPE,
         "valueReference": {"reference": "HealthcareService?identifier=urn:cpts-gateway:cpts-service|SNP"}}
    ]  # fmt: skip
    assert slots[0]["specialty"][0]["coding"][0]["code"] == "SM54"
    schedule = next(row for row in rows if row is not None)["Schedule"]
    assert [actor["reference"].split("?")[0] for actor in schedule["actor"]] == ["Practitioner", "PractitionerRole"]


def test_capacity_acme_slots_map_their_own_words() -> None:
    rows = csv_resources("acme-sante", "slots", "capacity-plages.csv")
    assert [summary(row["Slot"])[:3] for row in rows if row is not None] == [
        (["SNP", "CPTS"], ["AMB", "604"], "WALKIN"),
        (["PUBLIC"], ["VR"], "ROUTINE"),
        (["SNP"], ["AMB"], "WALKIN"),
    ]


def test_capacity_practitioner_role_contains_its_site() -> None:
    rows = csv_resources("reference", "practitioners", "capacity-sites.csv")
    assert rows[2] is None and rows[3] is None  # one coordinate only; a latitude beyond 90°
    role = rows[0]["PractitionerRole"]  # type: ignore[index]
    assert role["location"] == [{"reference": "#location"}]
    (site,) = role["contained"]
    assert site["resourceType"] == "Location" and site["id"] == "location"
    assert site["identifier"] == [{"system": "urn:cpts-gateway:site:759900426", "value": "759900426"}]
    assert (site["address"]["line"], site["address"]["city"], site["address"]["postalCode"]) == (
        ["3 rue des Lilas"],
        "Paris",
        "75011",
    )
    assert site["position"] == {"longitude": 2.3795, "latitude": 48.8589}
    assert "position" not in rows[1]["PractitionerRole"]["contained"][0]  # type: ignore[index]
    acme = csv_resources("acme-sante", "practitioners", "capacity-cabinets.csv")
    assert acme[0]["PractitionerRole"]["contained"][0]["name"] == "Centre de santé des Lilas"  # type: ignore[index]
    assert "contained" not in acme[1]["PractitionerRole"]  # type: ignore[index]


def test_capacity_site_location_has_its_position() -> None:
    rows = csv_resources("reference", "opening_hours", "capacity-position.csv")
    assert rows[0]["Location"]["position"] == {"longitude": 2.3795, "latitude": 48.8589}  # type: ignore[index]
    assert "position" not in rows[1]["Location"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("siu-s12-new.hl7", (["PRO"], ["AMB"], "ROUTINE", "busy")),
        ("siu-s12-capacity-walkin.hl7", (["SNP"], ["VR"], "WALKIN", "busy")),
        ("siu-s15-cancel.hl7", (["PRO"], ["AMB"], "ROUTINE", "free")),
    ],
)
def test_capacity_siu_gives_the_occupied_slot(case: str, expected: tuple[Any, ...]) -> None:
    path = DATA / "hl7v2" / case
    (record,) = list(hl7_records(path.read_bytes(), path.name))
    prepared = prepare(record, default_catalog(), MapContext("359900016", ZONE))
    assert not prepared.rejected
    by_type = {p.resource["resourceType"]: p.resource for p in prepared.produced}
    slot = by_type["Slot"]
    assert (*summary(slot)[:3], slot["status"]) == expected
    assert slot["schedule"]["reference"] == "Schedule?identifier=urn:cpts-gateway:schedule:359900016|819990000028"
    assert by_type["Appointment"]["slot"] == [
        {"reference": f"Slot?identifier=urn:cpts-gateway:slot:359900016|{slot['identifier'][0]['value']}"}
    ]
    actors = [actor["reference"].split("?")[0] for actor in by_type["Schedule"]["actor"]]
    assert actors == ["Practitioner", "PractitionerRole"]


def test_capacity_siu_without_a_french_practitioner_makes_no_slot() -> None:
    path = DATA / "hl7v2" / "siu-s14-local-practitioner.hl7"
    (record,) = list(hl7_records(path.read_bytes(), path.name))
    prepared = prepare(record, default_catalog(), MapContext("359900016", ZONE))
    assert "Slot" not in {p.resource["resourceType"] for p in prepared.produced}


@given(st.decimals(-90, 90, places=6), st.decimals(-180, 180, places=6))
def test_capacity_coordinates_in_range_are_kept(latitude: Decimal, longitude: Decimal) -> None:
    assert position({"latitude": latitude, "longitude": longitude}, CTX) == {
        "longitude": float(longitude), "latitude": float(latitude)
    }  # fmt: skip


def _number(text: str) -> bool:
    try:
        Decimal(text.strip().replace(",", "."))
    except ArithmeticError:
        return False
    return True


@given(
    st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False).filter(lambda d: abs(d) > 90),
        st.text(min_size=1).filter(lambda t: t.strip() != "" and not _number(t)),
        st.sampled_from(["NaN", "Infinity", "-inf", "90.0001", "48°51'"]),
    )
)
def test_capacity_bad_latitudes_are_refused(latitude: Any) -> None:
    with pytest.raises(MappingProblem):
        position({"latitude": latitude, "longitude": Decimal("2.3")}, CTX)


def test_capacity_one_coordinate_alone_is_refused() -> None:
    assert position({"latitude": " ", "longitude": None}, CTX) is None
    with pytest.raises(MappingProblem, match="both"):
        position({"latitude": Decimal("48.8"), "longitude": None}, CTX)


def test_capacity_appointment_type_defaults_from_the_snp_flag() -> None:
    assert slot_appointment_type({"type": None, "snp": True}, CTX) == "walkin"
    assert slot_appointment_type({"type": None, "snp": False}, CTX) == "routine"
    assert slot_appointment_type({"type": " Routine ", "snp": True}, CTX) == "routine"
