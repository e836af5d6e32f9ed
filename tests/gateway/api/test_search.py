"""FHIR R4 §3.1.1 search (http://hl7.org/fhir/R4/search.html), over real HTTP.

Section numbers refer to search.html: §3.1.1.4.x parameter types, §3.1.1.4.x modifiers and prefixes, §3.1.1.5.x
result parameters (_sort, _count, _include, _summary), §3.1.1.3.1 chaining, §3.1.1.2.x AND/OR.
Dates without an offset are read in the gateway's zone, Europe/Paris (UTC+1 in March 2026 until the 29th).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from builders import (
    CARDIOLOGY,
    GENERAL_PRACTICE,
    IDNAT_PS,
    INS_NIR,
    SPECIALTY,
    assert_outcome,
    entries,
    expressions,
    fhir_base,
    ids,
    link,
    organization,
    patient,
    practitioner,
    practitioner_role,
    put,
    put_all,
    schedule,
    search,
    slot,
)

RPPS_A, RPPS_B = "10001234567", "10009876543"


@pytest.fixture
def directory(client: httpx.Client) -> httpx.Client:
    """Two doctors, their roles, schedules and four Slots (see the module docstring for the zone)."""
    put_all(
        client,
        organization("690000001", "MSP Croix-Rousse", resource_id="org-1"),
        practitioner(RPPS_A, "Dupré", "Élise", resource_id="pr-a"),
        practitioner(RPPS_B, "Martin", "Paul", resource_id="pr-b"),
        practitioner_role("pr-a", specialty=GENERAL_PRACTICE, organization_id="org-1", resource_id="role-a"),
        practitioner_role("pr-b", specialty=CARDIOLOGY, resource_id="role-b"),
        schedule(["Practitioner/pr-a", "PractitionerRole/role-a"], resource_id="sch-a"),
        schedule(["PractitionerRole/role-b"], resource_id="sch-b"),
        slot("sch-a", "2026-03-02T08:00:00+01:00", resource_id="slot-1"),  # 07:00Z
        slot("sch-a", "2026-03-02T09:00:00+01:00", status="busy", resource_id="slot-2"),  # 08:00Z
        slot("sch-b", "2026-03-03T00:30:00+01:00", resource_id="slot-3"),  # 2026-03-02T23:30Z: the 3rd in Paris
        slot("sch-b", "2026-03-04T10:00:00Z", resource_id="slot-4"),
    )
    return client


@pytest.fixture
def patients(client: httpx.Client) -> httpx.Client:
    local = patient("DUPRE", "Marc", gender="male", birth_date="1975-01-31", resource_id="pat-2")
    local["identifier"] = [{"value": "LOCAL-42"}]  # an identifier without a system
    put_all(
        client,
        patient(
            "Dupré", "Élodie", gender="female", birth_date="1948-08-12", ins="248087512345621", resource_id="pat-1"
        ),
        local,
        patient(
            "Lemaire", "Anne-Sophie", gender=None, birth_date="1990-06-15", ins="290067512345678", resource_id="pat-3"
        ),
        patient("Leprêtre", "Louis", gender="male", birth_date=None, resource_id="pat-4"),
    )
    return client


def _match(client: httpx.Client, path: str, params: Any) -> list[str]:
    """Matching ``Type/id`` sorted; also checks that ``total`` counts exactly the matches."""
    bundle = search(client, path, params)
    found = ids(bundle)
    assert bundle["total"] == len(found), bundle
    return sorted(found)


def _slots(*numbers: int) -> list[str]:
    return [f"Slot/slot-{n}" for n in numbers]


def _pats(*numbers: int) -> list[str]:
    return [f"Patient/pat-{n}" for n in numbers]


# -- token (§3.1.1.4.8) -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"{INS_NIR}|248087512345621", [1]),  # system|code
        ("|LOCAL-42", [2]),  # |code: no system
        ("|248087512345621", []),  # it has a system, so |code does not match it
        (f"{INS_NIR}|", [1, 3]),  # system|: any code of the system
        ("248087512345621", [1]),  # code: any system
        ("LOCAL-42", [2]),
        (f"{IDNAT_PS}|248087512345621", []),  # right code, wrong system
    ],
)
def test_token_forms(patients: httpx.Client, value: str, expected: list[int]) -> None:
    assert _match(patients, "/fhir/Patient", {"identifier": value}) == _pats(*expected)


def test_token_on_a_codeable_concept(directory: httpx.Client) -> None:
    found = _match(directory, "/fhir/PractitionerRole", {"specialty": f"{SPECIALTY}|{CARDIOLOGY}"})
    assert found == ["PractitionerRole/role-b"]
    assert _match(directory, "/fhir/PractitionerRole", {"specialty": GENERAL_PRACTICE}) == ["PractitionerRole/role-a"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"gender:missing": "true"}, [3]),
        ({"gender:missing": "false"}, [1, 2, 4]),
        ({"identifier:missing": "true"}, [4]),
        ({"birthdate:missing": "true"}, [4]),
        ({"family:missing": "false"}, [1, 2, 3, 4]),
    ],
)
def test_missing_modifier(patients: httpx.Client, params: dict[str, str], expected: list[int]) -> None:
    """§3.1.1.5.1 :missing=true -> no value for the parameter; :missing=false -> some value."""
    assert _match(patients, "/fhir/Patient", params) == _pats(*expected)


def test_not_modifier_includes_resources_without_a_value(patients: httpx.Client) -> None:
    """search.html token :not -- "all resources that do not have a matching value", those with none included."""
    assert _match(patients, "/fhir/Patient", {"gender:not": "male"}) == _pats(1, 3)
    assert _match(patients, "/fhir/Patient", {"gender:not": "male,female"}) == _pats(3)


# -- string (§3.1.1.4.9) ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"family": "dupre"}, ["pr-a"]),  # case and accent insensitive
        ({"family": "Dupré"}, ["pr-a"]),
        ({"family": "DUP"}, ["pr-a"]),  # starts with
        ({"family": "art"}, []),  # not "contains" by default
        ({"family:contains": "art"}, ["pr-b"]),
        ({"family:contains": "PRÉ"}, ["pr-a"]),
        ({"family:exact": "Dupré"}, ["pr-a"]),  # exact: case and accents count
        ({"family:exact": "dupré"}, []),
        ({"family:exact": "Dupr"}, []),
        ({"given": "eli"}, ["pr-a"]),
        ({"name": "pau"}, ["pr-b"]),  # name covers given names too
    ],
)
def test_string_matching(directory: httpx.Client, params: dict[str, str], expected: list[str]) -> None:
    assert _match(directory, "/fhir/Practitioner", params) == [f"Practitioner/{p}" for p in expected]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"family": "dupre"}, [1, 2]),  # case and accent insensitive
        ({"family": "Dupré"}, [1, 2]),
        ({"family": "DUP"}, []),  # patients' names are encrypted: whole words only, no prefix
        ({"family": "pre"}, []),
        ({"family:exact": "Dupré"}, [1]),  # exact: case and accents count
        ({"family:exact": "dupré"}, []),
        ({"family:exact": "DUPRE"}, [2]),
        ({"family:exact": "Dupr"}, []),
        ({"given": "elodie"}, [1]),
        ({"given": "anne-sophie"}, [3]),  # the whole value
        ({"given": "Sophie"}, [3]),  # a whole word of it
        ({"given": "anne sophie"}, [3]),
        ({"name": "marc"}, [2]),  # name covers given names too
        ({"name": "leprêtre"}, [4]),
        ({"name": "lep"}, []),
    ],
)
def test_protected_names(patients: httpx.Client, params: dict[str, str], expected: list[int]) -> None:
    assert _match(patients, "/fhir/Patient", params) == _pats(*expected)


def test_contains_on_a_protected_name_is_400(patients: httpx.Client) -> None:
    response = patients.get("/fhir/Patient", params={"family:contains": "pre"})
    assert "whole words" in assert_outcome(response, 400)[0]["diagnostics"]


def test_string_search_escapes_like_wildcards(directory: httpx.Client) -> None:
    assert _match(directory, "/fhir/Practitioner", {"family": "dup%"}) == []
    assert _match(directory, "/fhir/Practitioner", {"family": "dupr_"}) == []


# -- date (§3.1.1.4.2): prefixes, precision, offsets ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # day precision, read as the Paris day [2026-03-01T23:00Z, 2026-03-02T23:00Z)
        ("2026-03-02", [1, 2]),
        ("eq2026-03-02", [1, 2]),
        ("ne2026-03-02", [3, 4]),
        ("lt2026-03-02", []),
        ("lt2026-03-03", [1, 2]),
        ("le2026-03-02", [1, 2]),
        ("gt2026-03-02", [3, 4]),
        ("ge2026-03-02", [1, 2, 3, 4]),
        ("ge2026-03-03", [3, 4]),
        ("2026-03-03", [3]),
        ("gt2026-03-03", [4]),
        ("2026-03", [1, 2, 3, 4]),
        ("2025", []),
        # second precision, with an offset
        ("2026-03-02T09:00:00+01:00", [2]),
        ("2026-03-02T08:00:00Z", [2]),
        ("eq2026-03-02T09:00:00+01:00", [2]),
        ("ne2026-03-02T09:00:00+01:00", [1, 3, 4]),
        ("lt2026-03-02T09:00:00+01:00", [1]),
        ("le2026-03-02T09:00:00+01:00", [1, 2]),
        ("gt2026-03-02T09:00:00+01:00", [3, 4]),
        ("ge2026-03-02T09:00:00+01:00", [2, 3, 4]),
        ("2026-03-02T23:30:00Z", [3]),
        ("2026-03-04T11:00:00+01:00", [4]),
        # second precision without an offset: Europe/Paris
        ("2026-03-02T09:00:00", [2]),
        ("2026-03-03T00:30:00", [3]),
        ("2026-03-02T23:30:00", []),
        ("ge2026-03-04T11:00:00", [4]),
        ("gt2026-03-04T11:00:00", []),
        # OR
        ("2026-03-02T08:00:00+01:00,2026-03-04", [1, 4]),
    ],
)
def test_date_prefixes_on_slot_start(directory: httpx.Client, value: str, expected: list[int]) -> None:
    assert _match(directory, "/fhir/Slot", {"start": value}) == _slots(*expected)


def test_and_of_date_prefixes_bounds_a_range(directory: httpx.Client) -> None:
    """§3.1.1.2.1 AND: ``start=ge..&start=lt..``; by design both bounds are tested on one index row (one start)."""
    params = [("start", "ge2026-03-02T08:30:00+01:00"), ("start", "lt2026-03-04")]
    assert _match(directory, "/fhir/Slot", params) == _slots(2, 3)
    params = [("start", "ge2026-03-02"), ("start", "le2026-03-02"), ("status", "free")]
    assert _match(directory, "/fhir/Slot", params) == _slots(1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1948-08-12", [1]),
        ("eq1948-08-12", [1]),
        ("1948-08", [1]),
        ("1948", [1]),
        ("1948-08-13", []),
        ("1975-01-31", [2]),
    ],
)
def test_exact_dates_on_a_protected_date_element(patients: httpx.Client, value: str, expected: list[int]) -> None:
    """Birth dates are encrypted: eq at day, month or year precision works through a blind index."""
    assert _match(patients, "/fhir/Patient", {"birthdate": value}) == _pats(*expected)


@pytest.mark.parametrize("value", ["lt1975-01-31", "le1975-01-31", "gt1975", "ge1975-01", "ne1975-01-31"])
def test_date_ranges_on_a_protected_date_element_are_400(patients: httpx.Client, value: str) -> None:
    response = patients.get("/fhir/Patient", params={"birthdate": value})
    assert "only an exact date" in assert_outcome(response, 400)[0]["diagnostics"]


@pytest.mark.parametrize(
    "value", ["2026-02-30", "tomorrow", "xx2026-03-02", "2026-03-02T25:00:00Z", "2026-03-02T09:00+25:00"]
)
def test_bad_date_value_is_400_naming_the_parameter(directory: httpx.Client, value: str) -> None:
    response = directory.get("/fhir/Slot", params={"start": value})
    assert_outcome(response, 400)
    assert expressions(response) == ["parameter:start"]


# -- reference (§3.1.1.4.10) ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"schedule": "Schedule/sch-a"}, [1, 2]),
        ({"schedule": "sch-b"}, [3, 4]),  # a bare id
        ({"schedule:Schedule": "sch-a"}, [1, 2]),  # :Type modifier
        ({"schedule": "Schedule/sch-a,Schedule/sch-b"}, [1, 2, 3, 4]),
        ({"schedule": "Schedule/nowhere"}, []),
    ],
)
def test_reference_forms(directory: httpx.Client, params: dict[str, str], expected: list[int]) -> None:
    assert _match(directory, "/fhir/Slot", params) == _slots(*expected)


def test_reference_by_absolute_url_of_this_server(directory: httpx.Client) -> None:
    value = f"{fhir_base(directory)}/Schedule/sch-a"
    assert _match(directory, "/fhir/Slot", {"schedule": value}) == _slots(1, 2)


def test_reference_to_a_type_the_parameter_cannot_target_is_400(directory: httpx.Client) -> None:
    response = directory.get("/fhir/Slot", params={"schedule:Practitioner": "sch-a"})
    assert_outcome(response, 400)
    assert expressions(response) == ["parameter:schedule:Practitioner"]


def test_reference_with_several_target_types(directory: httpx.Client) -> None:
    assert _match(directory, "/fhir/Schedule", {"actor": "Practitioner/pr-a"}) == ["Schedule/sch-a"]
    assert _match(directory, "/fhir/Schedule", {"actor:PractitionerRole": "role-b"}) == ["Schedule/sch-b"]
    assert _match(directory, "/fhir/Schedule", {"actor:Practitioner": "role-b"}) == []


# -- _id, _lastUpdated (§3.1.1.4.x common parameters) -----------------------------------------------------------------
def test_id_parameter(directory: httpx.Client) -> None:
    assert _match(directory, "/fhir/Slot", {"_id": "slot-2"}) == _slots(2)
    assert _match(directory, "/fhir/Slot", {"_id": "slot-1,slot-4,nothing"}) == _slots(1, 4)
    assert _match(directory, "/fhir/Slot", {"_id": "sch-a"}) == []  # ids are per type


def test_missing_on_id_and_last_updated(patients: httpx.Client) -> None:
    """Every resource has an id and a lastUpdated: :missing=true matches nothing, :missing=false everything."""
    for name in ("_id", "_lastUpdated"):
        assert _match(patients, "/fhir/Patient", {f"{name}:missing": "true"}) == []
        assert _match(patients, "/fhir/Patient", {f"{name}:missing": "false"}) == _pats(1, 2, 3, 4)


def test_last_updated_parameter(client: httpx.Client) -> None:
    stamps = []
    for n in (1, 2, 3):
        stamps.append(put(client, patient("Dupré", "Marie", resource_id=f"pat-{n}")).json()["meta"]["lastUpdated"])
        time.sleep(0.003)
    assert len(set(stamps)) == 3

    assert _match(client, "/fhir/Patient", {"_lastUpdated": f"ge{stamps[1]}"}) == _pats(2, 3)
    assert _match(client, "/fhir/Patient", {"_lastUpdated": f"gt{stamps[1]}"}) == _pats(3)
    assert _match(client, "/fhir/Patient", {"_lastUpdated": f"lt{stamps[1]}"}) == _pats(1)
    assert _match(client, "/fhir/Patient", {"_lastUpdated": stamps[1]}) == _pats(2)
    assert _match(
        client, "/fhir/Patient", [("_lastUpdated", f"ge{stamps[0]}"), ("_lastUpdated", f"le{stamps[1]}")]
    ) == (_pats(1, 2))
    assert _match(client, "/fhir/Patient", {"_lastUpdated": "lt2000-01-01"}) == []


# -- AND / OR (§3.1.1.2.1) --------------------------------------------------------------------------------------------
def test_or_with_commas_and_and_with_repeats(patients: httpx.Client) -> None:
    assert _match(patients, "/fhir/Patient", {"gender": "male,female"}) == _pats(1, 2, 4)
    assert _match(patients, "/fhir/Patient", [("gender", "male"), ("family", "dupre")]) == _pats(2)
    assert _match(patients, "/fhir/Patient", [("family", "Dupré"), ("family", "dupre")]) == _pats(1, 2)
    assert _match(patients, "/fhir/Patient", [("gender", "male"), ("gender", "female")]) == []
    assert _match(patients, "/fhir/Patient", [("gender", "male,female"), ("name", "louis,elodie")]) == _pats(1, 4)


# -- chaining (§3.1.1.3.1) --------------------------------------------------------------------------------------------
def test_chain_to_practitioner_identifier(directory: httpx.Client) -> None:
    name = "schedule.actor:Practitioner.identifier"
    assert _match(directory, "/fhir/Slot", {name: f"{IDNAT_PS}|8{RPPS_A}"}) == _slots(1, 2)
    # pr-b is an actor of no Schedule directly (only through its role): the chain does not follow roles
    assert _match(directory, "/fhir/Slot", {name: f"{IDNAT_PS}|8{RPPS_B}"}) == []
    assert _match(directory, "/fhir/Slot", {name: f"{IDNAT_PS}|8{RPPS_A},{IDNAT_PS}|8{RPPS_B}"}) == _slots(1, 2)


def test_chain_to_practitioner_role_specialty(directory: httpx.Client) -> None:
    name = "schedule.actor:PractitionerRole.specialty"
    assert _match(directory, "/fhir/Slot", {name: f"{SPECIALTY}|{CARDIOLOGY}"}) == _slots(3, 4)
    assert _match(directory, "/fhir/Slot", {name: GENERAL_PRACTICE}) == _slots(1, 2)
    assert _match(directory, "/fhir/Slot", {name: f"{SPECIALTY}|SM99"}) == []
    params = {name: CARDIOLOGY, "start": "ge2026-03-04"}
    assert _match(directory, "/fhir/Slot", params) == _slots(4)


def test_chain_through_a_non_reference_is_400(directory: httpx.Client) -> None:
    response = directory.get("/fhir/Slot", params={"status.code": "free"})
    assert_outcome(response, 400)
    assert expressions(response) == ["parameter:status.code"]


# -- _include / _revinclude (§3.1.1.5.4) ------------------------------------------------------------------------------
def test_include_adds_referenced_resources_not_counted_in_total(directory: httpx.Client) -> None:
    bundle = search(directory, "/fhir/Slot", {"_id": "slot-1,slot-2", "_include": "Slot:schedule"})
    assert bundle["total"] == 2
    assert sorted(ids(bundle)) == _slots(1, 2)
    assert ids(bundle, "include") == ["Schedule/sch-a"]
    assert len(bundle["entry"]) == 3
    assert {e["fullUrl"] for e in bundle["entry"]} == {
        f"{fhir_base(directory)}/{ref}" for ref in ["Slot/slot-1", "Slot/slot-2", "Schedule/sch-a"]
    }


def test_include_iterate_follows_included_resources(directory: httpx.Client) -> None:
    params = [("schedule", "sch-a"), ("_include", "Slot:schedule"), ("_include:iterate", "Schedule:actor")]
    bundle = search(directory, "/fhir/Slot", params)
    assert bundle["total"] == 2
    assert sorted(ids(bundle)) == _slots(1, 2)
    assert sorted(ids(bundle, "include")) == ["Practitioner/pr-a", "PractitionerRole/role-a", "Schedule/sch-a"]


def test_include_iterate_with_a_target_type(directory: httpx.Client) -> None:
    params = [
        ("_id", "slot-1,slot-3"),
        ("_include", "Slot:schedule"),
        ("_include:iterate", "Schedule:actor:Practitioner"),
    ]
    bundle = search(directory, "/fhir/Slot", params)
    assert sorted(ids(bundle, "include")) == ["Practitioner/pr-a", "Schedule/sch-a", "Schedule/sch-b"]


def test_include_without_iterate_does_not_follow_included_resources(directory: httpx.Client) -> None:
    params = [("_id", "slot-1"), ("_include", "Slot:schedule"), ("_include", "Schedule:actor")]
    response = directory.get("/fhir/Slot", params=params)
    assert_outcome(response, 400)  # Schedule:actor does not apply to Slot without :iterate
    assert expressions(response) == ["parameter:_include"]


def test_revinclude_adds_referring_resources(directory: httpx.Client) -> None:
    params = {"_id": "pr-a", "_revinclude": "PractitionerRole:practitioner"}
    bundle = search(directory, "/fhir/Practitioner", params)
    assert bundle["total"] == 1
    assert ids(bundle) == ["Practitioner/pr-a"]
    assert ids(bundle, "include") == ["PractitionerRole/role-a"]
    all_doctors = search(directory, "/fhir/Practitioner", {"_revinclude": "PractitionerRole:practitioner"})
    assert all_doctors["total"] == 2
    assert sorted(ids(all_doctors, "include")) == ["PractitionerRole/role-a", "PractitionerRole/role-b"]


def test_revinclude_skips_deleted_referrers(directory: httpx.Client) -> None:
    assert directory.delete("/fhir/PractitionerRole/role-a").status_code == 204
    bundle = search(directory, "/fhir/Practitioner", {"_id": "pr-a", "_revinclude": "PractitionerRole:practitioner"})
    assert ids(bundle, "include") == []


# -- _summary=count, _sort (§3.1.1.5.7, §3.1.1.5.3) -------------------------------------------------------------------
def test_summary_count_gives_the_total_and_no_entries(directory: httpx.Client) -> None:
    bundle = search(directory, "/fhir/Slot", {"_summary": "count", "status": "free"})
    assert bundle["total"] == 3
    assert "entry" not in bundle
    assert link(bundle, "next") is None


def test_sort_by_start_ascending_and_descending(directory: httpx.Client) -> None:
    ascending = search(directory, "/fhir/Slot", {"_sort": "start"})
    assert ids(ascending) == _slots(1, 2, 3, 4)
    descending = search(directory, "/fhir/Slot", {"_sort": "-start"})
    assert ids(descending) == _slots(4, 3, 2, 1)


def test_sort_by_an_unknown_parameter_is_400(directory: httpx.Client) -> None:
    response = directory.get("/fhir/Slot", params={"_sort": "colour"})
    assert_outcome(response, 400)
    assert expressions(response) == ["parameter:_sort"]


# -- paging (§3.1.1.5.6 _count, §3.1.1.6 paging links) ----------------------------------------------------------------
PAGE_STARTS = [f"2026-03-10T{8 + n // 4:02d}:{(n % 4) * 15:02d}:00+01:00" for n in range(23)]
PAGE_STARTS[4] = PAGE_STARTS[5] = PAGE_STARTS[6] = "2026-03-10T09:00:00+01:00"  # a tie across a page boundary


@pytest.fixture
def many_slots(client: httpx.Client) -> httpx.Client:
    put(client, schedule(["Practitioner/pr-a"], resource_id="sch-p"))
    # ids deliberately out of start order, so that sorting by id and by start differ
    for n, start in enumerate(PAGE_STARTS):
        put(client, slot("sch-p", start, resource_id=f"pg-{(n * 7) % 23:02d}"))
    return client


def _pages(client: httpx.Client, params: Any) -> list[dict[str, Any]]:
    pages = [search(client, "/fhir/Slot", params)]
    while (url := link(pages[-1], "next")) is not None:
        pages.append(search(client, url))
        assert len(pages) < 50, "paging does not end"
    return pages


def _by_start() -> list[str]:
    order = sorted(range(23), key=lambda n: (PAGE_STARTS[n], f"pg-{(n * 7) % 23:02d}"))
    return [f"Slot/pg-{(n * 7) % 23:02d}" for n in order]


def test_count_pages_cover_every_match_exactly_once(many_slots: httpx.Client) -> None:
    pages = _pages(many_slots, {"schedule": "sch-p", "_count": "5"})
    assert [len(ids(p)) for p in pages] == [5, 5, 5, 5, 3]
    assert all(p["total"] == 23 for p in pages)
    seen = [i for p in pages for i in ids(p)]
    assert seen == [f"Slot/pg-{n:02d}" for n in range(23)]
    assert link(pages[-1], "next") is None


def test_count_pages_sorted_by_start_with_ties(many_slots: httpx.Client) -> None:
    pages = _pages(many_slots, {"_sort": "start", "_count": "5"})
    assert [i for p in pages for i in ids(p)] == _by_start()
    pages = _pages(many_slots, {"_sort": "-start", "_count": "4"})
    assert [i for p in pages for i in ids(p)] == list(reversed(_by_start()))


@pytest.mark.parametrize("sort", ["_id", "-_id", "_lastUpdated", "-_lastUpdated", "status", "-status", "-start"])
def test_paged_traversal_equals_the_unpaged_result(many_slots: httpx.Client, sort: str) -> None:
    """§3.1.1.5.6: pages of 4 followed to the end give the same sequence as one page holding every match."""
    many_slots.delete("/fhir/Slot/pg-03")
    put(many_slots, slot("sch-p", PAGE_STARTS[0], status="busy", resource_id="pg-03"))  # a status that sorts first
    whole = search(many_slots, "/fhir/Slot", {"_sort": sort, "_count": "100"})
    assert len(ids(whole)) == 23
    pages = _pages(many_slots, {"_sort": sort, "_count": "4"})
    assert [i for p in pages for i in ids(p)] == ids(whole)
    if sort.lstrip("-") in ("_id", "status"):
        keys = [(e["resource"][sort.lstrip("-_")], e["resource"]["id"]) for e in entries(whole)]
        assert keys == sorted(keys, reverse=sort.startswith("-"))


def test_next_and_self_links(many_slots: httpx.Client) -> None:
    """§3.1.1.6: self reproduces the query as applied; next carries the same parameters plus the position."""
    base = fhir_base(many_slots)
    first = search(many_slots, "/fhir/Slot", [("schedule", "Schedule/sch-p"), ("_sort", "start"), ("_count", "5")])
    assert link(first, "self") == f"{base}/Slot?schedule=Schedule/sch-p&_sort=start&_count=5"
    next_url = link(first, "next")
    assert next_url is not None
    assert next_url.startswith(f"{base}/Slot?schedule=Schedule/sch-p&_sort=start&_count=5&_cursor=")
    again = search(many_slots, link(first, "self") or "")
    assert ids(again) == ids(first)
    assert again["total"] == first["total"]


def test_count_zero_gives_only_the_total(many_slots: httpx.Client) -> None:
    bundle = search(many_slots, "/fhir/Slot", {"_count": "0"})
    assert bundle["total"] == 23
    assert "entry" not in bundle


@pytest.mark.parametrize("sort", [None, "start", "-start"])
def test_paging_stays_correct_while_data_changes(many_slots: httpx.Client, sort: str | None) -> None:
    """§3.1.1.6: following next links after writes gives no duplicates and skips nothing that existed and matched.

    After the first page: one new Slot sorts before the cursor, one after it, and one Slot of a later page is deleted.
    """
    params = {"schedule": "sch-p", "_count": "5"} | ({"_sort": sort} if sort else {})
    original = [i for p in _pages(many_slots, params) for i in ids(p)]
    first = search(many_slots, "/fhir/Slot", params)
    assert ids(first) == original[:5]

    early, late = ("pg-00a", "pg-zz") if sort is None else ("pg-early", "pg-late")
    early_start, late_start = "2026-03-10T07:00:00+01:00", "2026-03-10T23:00:00+01:00"
    if sort == "-start":
        early_start, late_start = late_start, early_start
    put(many_slots, slot("sch-p", early_start, resource_id=early))
    put(many_slots, slot("sch-p", late_start, resource_id=late))
    doomed = original[12]
    assert many_slots.delete(f"/fhir/{doomed}").status_code == 204

    rest = []
    url = link(first, "next")
    while url is not None:
        page = search(many_slots, url)
        rest.extend(ids(page))
        url = link(page, "next")

    seen = original[:5] + rest
    assert len(seen) == len(set(seen))
    assert seen == [i for i in original if i != doomed] + [f"Slot/{late}"]


def test_bad_cursor_is_400(many_slots: httpx.Client) -> None:
    response = many_slots.get("/fhir/Slot", params={"_cursor": "not-a-cursor"})
    assert_outcome(response, 400)
    assert expressions(response) == ["parameter:_cursor"]


# -- unknown parameters, strict handling (§3.1.1.4 "handling") ---------------------------------------------------------
def test_unknown_parameter_is_ignored_with_an_outcome_entry(directory: httpx.Client) -> None:
    bundle = search(directory, "/fhir/Slot", [("colour", "blue"), ("status", "free")])
    assert bundle["total"] == 3
    assert sorted(ids(bundle)) == _slots(1, 3, 4)
    outcomes = entries(bundle, "outcome")
    assert len(outcomes) == 1
    issue = outcomes[0]["resource"]["issue"][0]
    assert outcomes[0]["resource"]["resourceType"] == "OperationOutcome"
    assert issue["severity"] == "warning"
    assert "colour" in issue["diagnostics"]
    assert link(bundle, "self") == f"{fhir_base(directory)}/Slot?status=free"  # as applied, without 'colour'


def test_unknown_parameter_under_strict_handling_is_400(directory: httpx.Client) -> None:
    response = directory.get("/fhir/Slot", params={"colour": "blue"}, headers={"Prefer": "handling=strict"})
    assert_outcome(response, 400)
    assert expressions(response) == ["parameter:colour"]
    lenient = directory.get("/fhir/Slot", params={"colour": "blue"}, headers={"Prefer": "handling=lenient"})
    assert lenient.status_code == 200


def test_unsupported_modifier_is_400(directory: httpx.Client) -> None:
    response = directory.get("/fhir/Slot", params={"status:contains": "fr"})
    assert_outcome(response, 400)
    assert expressions(response) == ["parameter:status:contains"]


def test_search_of_an_unknown_type_is_404(client: httpx.Client) -> None:
    response = client.get("/fhir/Banana", params={"colour": "yellow"})
    assert_outcome(response, 404)


# -- POST [type]/_search (§3.1.0.8 / search.html §3.1.1.1) -------------------------------------------------------------
def test_post_search_with_a_form_body_equals_get(directory: httpx.Client) -> None:
    params = {"schedule.actor:PractitionerRole.specialty": CARDIOLOGY, "_sort": "-start", "_include": "Slot:schedule"}
    got = search(directory, "/fhir/Slot", params)
    posted = directory.post("/fhir/Slot/_search", data=params)
    assert posted.status_code == 200, posted.text
    body = posted.json()
    assert ids(body) == ids(got) == _slots(4, 3)
    assert ids(body, "include") == ids(got, "include") == ["Schedule/sch-b"]
    assert body["total"] == got["total"] == 2
    assert link(body, "self") == link(got, "self")


def test_post_search_combines_query_string_and_form(directory: httpx.Client) -> None:
    response = directory.post("/fhir/Slot/_search?status=free", data={"schedule": "sch-a"})
    assert response.status_code == 200, response.text
    assert ids(response.json()) == _slots(1)


def test_post_search_with_a_json_body_is_415(directory: httpx.Client) -> None:
    response = directory.post("/fhir/Slot/_search", json={"status": "free"})
    assert_outcome(response, 415)


def test_searchset_shape(directory: httpx.Client) -> None:
    bundle = search(directory, "/fhir/Slot", {"_id": "slot-1"})
    assert bundle["type"] == "searchset"
    assert bundle["entry"][0]["search"] == {"mode": "match"}
    assert bundle["entry"][0]["fullUrl"] == f"{fhir_base(directory)}/Slot/slot-1"
    assert bundle["entry"][0]["resource"] == directory.get("/fhir/Slot/slot-1").json()


def test_digits_that_are_not_ascii_are_refused_not_crashed_on(client: httpx.Client) -> None:
    """``str.isdigit`` admits "²" and "٣", which ``int`` refuses: each is a 4xx naming the parameter, never a 500."""
    for value in ("²", "٣", "1²"):
        response = client.get("/fhir/Slot", params={"_count": value})
        assert response.status_code == 400, value
        assert response.json()["issue"][0]["expression"] == ["parameter:_count"], value
    assert client.get("/fhir/Slot/x/_history/²").status_code == 404
