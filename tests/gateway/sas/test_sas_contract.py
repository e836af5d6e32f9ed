"""The SAS CPTS contract (INT_R04) against a demo territory, with a real ``sas-consumer`` OAuth client over HTTP."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
from sqlalchemy import Engine

from gateway.sas import profiles as P
from gateway.sas.checker import problems
from gateway.settings import Settings
from tests.gateway.sas.sas_support import IDNPS, INCLUDES, Territory, expected_slots, int_r04, seed, window
from tests.security.identities import Identities

SAS_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$")


@pytest.fixture
def territory(ids: Identities, engine: Engine, secure_settings: Settings) -> Territory:
    return seed(engine, secure_settings)


@pytest.fixture
def sas(ids: Identities) -> httpx.Client:
    return ids.client("sas-region", "sas-consumer")


def of_type(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", []) if e["resource"]["resourceType"] == kind]


def query_of(url: str) -> dict[str, list[str]]:
    return {k: sorted(v) for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def test_sas_int_r04_answers_the_cpts_aggregator_bundle(territory: Territory, sas: httpx.Client) -> None:
    low, high = window()
    text = "%Y-%m-%dT%H:%M:%S.000"
    params = int_r04(territory.practitioners, low.strftime(text), high.strftime(text))  # no offset, as the kit
    response = sas.get("/fhir/Slot", params=tuple(params), headers={"Accept": "application/json+fhir"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = response.json()
    assert problems(bundle) == []

    # searchset, total = the Slot matches, one self link reproducing the query
    assert bundle["type"] == "searchset"
    slots = of_type(bundle, "Slot")
    wanted = expected_slots(territory, low, high)
    assert wanted and {s["id"] for s in slots} == wanted
    assert bundle["total"] == len(slots)
    assert [link["relation"] for link in bundle["link"]] == ["self"]
    assert query_of(bundle["link"][0]["url"]) == query_of(str(response.request.url))
    assert "|" not in bundle["link"][0]["url"] and " " not in bundle["link"][0]["url"]
    assert bundle["meta"]["profile"] == [P.BUNDLE_PROFILE]

    # every entry: fullUrl, exactly one aggregator profile, relative references
    base = str(sas.base_url).rstrip("/") + "/fhir"
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert entry["fullUrl"] == f"{base}/{resource['resourceType']}/{resource['id']}"
        assert resource["meta"]["profile"] == [P.PROFILES[resource["resourceType"]]]
        assert entry["search"]["mode"] == ("match" if resource["resourceType"] == "Slot" else "include")

    # the include set
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds == {"Slot", "Schedule", "Practitioner", "PractitionerRole", "HealthcareService", "Organization"}
    present = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
    for schedule in of_type(bundle, "Schedule"):
        actors = [a["reference"] for a in schedule["actor"]]
        assert {a.split("/")[0] for a in actors} == {"Practitioner", "PractitionerRole"}
        assert set(actors) <= present
    for slot in slots:
        assert slot["status"] == "free" and slot["comment"].startswith("https://")
        assert SAS_INSTANT.match(slot["start"]) and SAS_INSTANT.match(slot["end"])
        assert not slot["start"].endswith("Z") and slot["start"] < slot["end"]
        assert dt.datetime.fromisoformat(slot["start"]) >= low
        assert {c["code"] for c in slot["meta"]["security"]} <= {"SNP", "CPTS", "PUBLIC", "PRO"}
        assert slot["appointmentType"]["coding"][0]["code"] in ("ROUTINE", "WALKIN")
        for concept in slot["serviceType"]:
            if concept["coding"][0]["code"] == "604":
                assert concept["extension"][0]["url"] == P.SLOT_SERVICE_TYPE_URL
                assert concept["extension"][0]["valueReference"]["reference"] in present
            else:
                assert concept["coding"][0]["code"] in ("AMB", "HH", "VR")
    assert any(c["coding"][0]["code"] == "604" for s in slots for c in s["serviceType"])

    # identifier formats: 8 + RPPS for practitioners, 1 + FINESS for the CPTS
    asked = set(territory.practitioners)
    for practitioner in of_type(bundle, "Practitioner"):
        assert [i["system"] for i in practitioner["identifier"]] == [IDNPS]
        value = practitioner["identifier"][0]["value"]
        assert re.fullmatch(r"8\d{11}", value) and value in asked
    organizations = of_type(bundle, "Organization")
    assert [o["identifier"][0]["value"] for o in organizations] == ["1" + territory.cpts_finess]
    assert re.fullmatch(r"1\d{9}", organizations[0]["identifier"][0]["value"])
    for service in of_type(bundle, "HealthcareService"):
        assert service["providedBy"]["reference"] == f"Organization/{organizations[0]['id']}"
    for role in of_type(bundle, "PractitionerRole"):
        location = role["contained"][0]
        assert role["location"] == [{"reference": f"#{location['id']}"}]
        assert location["address"]["line"] and location["address"]["city"]
        assert re.fullmatch(r"\d{5}", location["address"]["postalCode"])
        assert role["practitioner"]["reference"] in present
        assert all(re.fullmatch(r"\+33\d{9}", t["value"]) for t in role["telecom"] if t["system"] == "phone")


def test_sas_dates_with_an_offset_or_a_literal_plus_give_the_same_slots(
    territory: Territory, sas: httpx.Client
) -> None:
    low, high = window()
    plain = int_r04(territory.practitioners, low.strftime("%Y-%m-%dT%H:%M:%S"), high.strftime("%Y-%m-%dT%H:%M:%S"))
    offset = int_r04(territory.practitioners, low.isoformat(timespec="milliseconds"), high.isoformat())
    utc = int_r04(
        territory.practitioners,
        low.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        high.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    answers = [sas.get("/fhir/Slot", params=tuple(p)) for p in (plain, offset, utc)]
    # a client that leaves the + of the offset unencoded: the query string turns it into a space
    raw = "&".join(f"{k}={v.replace('|', '%7C')}" for k, v in offset)
    answers.append(sas.get(f"/fhir/Slot?{raw}"))
    ids = []
    for response in answers:
        assert response.status_code == 200, response.text
        ids.append(sorted(e["resource"]["id"] for e in response.json()["entry"] if e["search"]["mode"] == "match"))
    assert ids[0] and all(found == ids[0] for found in ids)


def test_sas_first_generation_include_set_is_served_and_rendered(territory: Territory, sas: httpx.Client) -> None:
    """The kit's response-time test sends Slot:schedule and Schedule:actor only, with +00:00 offsets."""
    low, high = window()
    low_utc, high_utc = (moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+00:00") for moment in (low, high))
    params = [p for p in int_r04(territory.practitioners[:1], low_utc, high_utc) if p not in INCLUDES[2:]]
    response = sas.get("/fhir/Slot", params=tuple(params))
    assert response.status_code == 200, response.text
    kinds = {e["resource"]["resourceType"] for e in response.json().get("entry", [])}
    assert "HealthcareService" not in kinds and "Organization" not in kinds


def test_sas_answer_is_audited_by_its_query_and_counts(
    ids: Identities, territory: Territory, sas: httpx.Client
) -> None:
    """Slots and directory resources are no patient's data for the SAS: the event counts them by type and names none
    (the query, the time and the version history identify them), so it stays small however many Slots match."""
    low, high = window()
    text = "%Y-%m-%dT%H:%M:%S.000"
    response = sas.get(
        "/fhir/Slot", params=tuple(int_r04(territory.practitioners, low.strftime(text), high.strftime(text)))
    )
    assert response.status_code == 200, response.text
    bundle = response.json()
    counts = Counter(entry["resource"]["resourceType"] for entry in bundle["entry"])
    event = ids.audited(response.headers["x-request-id"])
    described = event["outcomeDesc"]
    assert f"Slot x{bundle['total']}" in described and f"Schedule x{counts['Schedule']}" in described
    assert counts["Slot"] > 1 and "Slot/" not in orjson.dumps(event).decode()
    queries = [e for e in event["entity"] if e.get("role", {}).get("code") == "24"]
    assert len(queries) == 1 and territory.practitioners[0] in base64.b64decode(queries[0]["query"]).decode()


def test_sas_no_slot_gives_an_empty_searchset(territory: Territory, sas: httpx.Client) -> None:
    params = int_r04(["800000000000"], "2026-01-01T00:00:00", "2026-01-02T00:00:00")
    response = sas.get("/fhir/Slot", params=tuple(params))
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["total"] == 0 and "entry" not in bundle and len(bundle["link"]) == 1


def test_sas_search_parameter_is_served_and_declared(sas: httpx.Client) -> None:
    response = sas.get("/fhir/SearchParameter/service-type-reference")
    assert response.status_code == 200, response.text
    parameter = response.json()
    assert parameter["resourceType"] == "SearchParameter" and parameter["code"] == "service-type-reference"
    assert parameter["base"] == ["Slot"] and parameter["type"] == "reference"
    assert P.SLOT_SERVICE_TYPE_URL in parameter["expression"]
    assert sas.get("/fhir/SearchParameter/unknown").status_code == 404
    statement = sas.get("/fhir/metadata").json()
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    slot_params = {p["name"]: p for p in resources["Slot"]["searchParam"]}
    assert slot_params["service-type-reference"]["definition"] == parameter["url"]
    assert "Slot:service-type-reference" in resources["Slot"]["searchInclude"]
