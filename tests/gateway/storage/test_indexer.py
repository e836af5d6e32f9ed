"""Index rows derived from resources, one kind of search parameter at a time."""

from datetime import datetime
from zoneinfo import ZoneInfo

from gateway.storage.indexer import index_resource, normalise, parse_reference

PARIS = ZoneInfo("Europe/Paris")


def test_tokens_from_identifier_codeable_concept_boolean_and_contact_point() -> None:
    rows = index_resource(
        {
            "resourceType": "Practitioner",
            "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "810001234567"}],
            "active": True,
            "telecom": [{"system": "phone", "value": "0299000000"}],
            "qualification": [{"code": {"coding": [{"system": "urn:x", "code": "SM54"}]}}],
        },
        PARIS,
    )
    assert sorted((r["param"], r["system"], r["code"]) for r in rows.token) == [
        ("active", None, "true"),
        ("identifier", "urn:oid:1.2.250.1.71.4.2.1", "810001234567"),
        ("qualification-code", "urn:x", "SM54"),
        ("telecom", None, "0299000000"),  # a ContactPoint's system is a channel, not a namespace
    ]


def test_dates_are_utc_ranges_and_local_dates_use_the_configured_zone() -> None:
    rows = index_resource(
        {"resourceType": "Patient", "birthDate": "1980-05-01", "meta": {"tag": [{"code": "t"}]}}, PARIS
    )
    assert rows.date == [
        {
            "param": "birthdate",
            "low": datetime(1980, 4, 30, 22, 0),
            "high": datetime(1980, 5, 1, 21, 59, 59, 999999),
            "status": None,
        }
    ]


def test_date_rows_carry_the_resource_status() -> None:
    rows = index_resource({"resourceType": "Slot", "status": "free", "start": "2026-11-23T09:00:00+01:00"}, PARIS)
    assert [(r["param"], r["status"]) for r in rows.date] == [("start", "free")]


def test_period_with_open_end_is_unbounded() -> None:
    rows = index_resource({"resourceType": "CareTeam", "period": {"start": "2026-01-01"}}, PARIS)
    assert rows.date[0]["low"] == datetime(2025, 12, 31, 23, 0)
    assert rows.date[0]["high"].year == 9999


def test_references_respect_the_parameter_targets() -> None:
    rows = index_resource(
        {
            "resourceType": "Appointment",
            "participant": [
                {"actor": {"reference": "Patient/p1"}, "status": "accepted"},
                {"actor": {"reference": "Practitioner/d1"}, "status": "accepted"},
            ],
            "slot": [{"reference": "https://example.org/fhir/Slot/s1/_history/2"}],
        },
        PARIS,
    )
    found = sorted((r["param"], r["target_type"], r["target_id"]) for r in rows.reference)
    assert found == [
        ("actor", "Patient", "p1"),
        ("actor", "Practitioner", "d1"),
        ("patient", "Patient", "p1"),
        ("practitioner", "Practitioner", "d1"),
        ("slot", "Slot", "s1"),
    ]


def test_extension_path_indexes_the_slot_service_type_reference() -> None:
    url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Slot.serviceType"
    rows = index_resource(
        {
            "resourceType": "Slot",
            "serviceType": [{"extension": [{"url": url, "valueReference": {"reference": "HealthcareService/h1"}}]}],
        },
        PARIS,
    )
    assert [(r["param"], r["target_id"]) for r in rows.reference] == [("service-type-reference", "h1")]


def test_strings_are_normalised_for_case_and_accents() -> None:
    assert normalise("  Élodie DUPRÉ ") == "elodie dupre"
    rows = index_resource({"resourceType": "Patient", "name": [{"family": "Dupré", "given": ["Élodie"]}]}, PARIS)
    assert {(r["param"], r["value"], r["exact"]) for r in rows.string} == {
        ("name", "dupre", "Dupré"),
        ("name", "elodie", "Élodie"),
        ("family", "dupre", "Dupré"),
        ("given", "elodie", "Élodie"),
    }


def test_parse_reference_forms() -> None:
    assert parse_reference("Patient/p1") == ("Patient", "p1")
    assert parse_reference("Patient/p1/_history/3") == ("Patient", "p1")
    assert parse_reference("http://x.org/fhir/Patient/p1") == ("Patient", "p1")
    assert parse_reference("#contained") == (None, None)
    assert parse_reference("urn:uuid:0b0b") == (None, None)
