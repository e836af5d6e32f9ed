"""Attacks on the consent rules (architecture §7) by a practitioner, and by roles that never see patient data.

Centre A holds three patients: ``pa`` whose care team includes the nurse of centre B, ``pc`` with no link to her,
and ``pd`` who consented to share with her explicitly. The nurse's every way round the rules — search parameters,
``_include``, ``_revinclude``, chains, history, ``_summary=count``, bundles, paging — is refused (403 with the reason
code) or filtered without a trace, and audited.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.gateway.sas.sas_support import INT_R04_EXAMPLE
from tests.security.identities import Identities
from tests.security.scenario import IPP_A, NURSE_PS, consent, patient, put, refused


def entries(bundle: dict[str, Any]) -> set[str]:
    return {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle.get("entry", [])}


def test_reads_follow_care_team_and_consent(ids: Identities, territory: dict[str, httpx.Client]) -> None:
    nurse = territory["nurse"]
    assert nurse.get("/fhir/Patient/pa").status_code == 200  # care team: presumed
    assert nurse.get("/fhir/Patient/pd").status_code == 200  # explicit consent
    assert nurse.get("/fhir/Appointment/appt-pa").status_code == 200
    refused(nurse.get("/fhir/Patient/pc"), ids, code="CONSENT-REQUIRED")  # outside, no consent
    refused(nurse.get("/fhir/Appointment/appt-pc"), ids, code="CONSENT-REQUIRED")
    event = ids.audited(nurse.get("/fhir/Patient/pa").headers["x-request-id"])
    assert "CONSENT-PRESUMED-CARE-TEAM" in str(event) and "Patient/pa" in str(event)


def test_attack_search_parameters_only_return_what_consent_permits(territory: dict[str, httpx.Client]) -> None:
    nurse = territory["nurse"]
    everyone = nurse.get("/fhir/Patient").json()
    assert entries(everyone) == {"Patient/pa", "Patient/pd"}
    assert "total" not in everyone  # a total would count the hidden
    targeted = nurse.get("/fhir/Patient?family=Charlie").json()
    assert entries(targeted) == set()
    by_reference = nurse.get("/fhir/Appointment?patient=Patient/pc").json()
    assert entries(by_reference) == set()


@pytest.mark.parametrize("query", ["_summary=count", "_total=accurate"])
def test_attack_counting_what_is_hidden(ids: Identities, territory: dict[str, httpx.Client], query: str) -> None:
    refused(territory["nurse"].get(f"/fhir/Patient?{query}"), ids, code="CONSENT-COUNT")


def test_attack_chain_through_patient_data(ids: Identities, territory: dict[str, httpx.Client]) -> None:
    refused(territory["nurse"].get("/fhir/Appointment?patient.family=Charlie"), ids, code="CONSENT-CHAIN")


def test_attack_include_and_revinclude_of_hidden_patients(territory: dict[str, httpx.Client]) -> None:
    nurse = territory["nurse"]
    included = nurse.get("/fhir/Appointment?_include=Appointment:patient").json()
    assert entries(included) == {"Appointment/appt-pa", "Appointment/appt-pd", "Patient/pa", "Patient/pd"}
    reverse = nurse.get("/fhir/Practitioner?_id=pr-nurse&_revinclude=CareTeam:participant").json()
    assert entries(reverse) == {"Practitioner/pr-nurse", "CareTeam/ct-pa"}
    consents = nurse.get("/fhir/Patient?_revinclude=Consent:patient").json()
    assert "Patient/pc" not in entries(consents)


def test_attack_history(ids: Identities, territory: dict[str, httpx.Client]) -> None:
    nurse = territory["nurse"]
    refused(nurse.get("/fhir/Patient/_history"), ids, code="SEC-ROLE")
    refused(nurse.get("/fhir/_history"), ids, code="SEC-ROLE")
    refused(nurse.get("/fhir/Patient/pc/_history"), ids, code="CONSENT-REQUIRED")
    assert nurse.get("/fhir/Patient/pa/_history").status_code == 200


def test_attack_bundles(ids: Identities, territory: dict[str, httpx.Client]) -> None:
    nurse = territory["nurse"]
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Patient/pc"}},
            {"request": {"method": "GET", "url": "Patient?_id=pc"}},
            {"request": {"method": "GET", "url": "Patient/pa"}},
        ],
    }
    answers = nurse.post("/fhir", json=batch).json()["entry"]
    assert answers[0]["response"]["status"].startswith("403")
    assert entries(answers[1]["resource"]) == set()
    assert answers[2]["response"]["status"].startswith("200")
    referral = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "for": {"reference": "Patient/pc"},
    }
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": referral, "request": {"method": "POST", "url": "Task"}}],
    }
    refused(nurse.post("/fhir", json=transaction), ids, code="CONSENT-REQUIRED")
    allowed = {**referral, "for": {"reference": "Patient/pa"}}
    assert nurse.post("/fhir/Task", json=allowed).status_code == 201


def test_objection_newer_than_presumption_then_consent_newer_than_objection(
    ids: Identities, territory: dict[str, httpx.Client]
) -> None:
    centre, nurse, gp = territory["centre"], territory["nurse"], territory["gp"]
    put(centre, consent("c-pa-no", "pa", "deny", "2026-11-01T10:00:00+01:00"))
    refused(nurse.get("/fhir/Patient/pa"), ids, code="CONSENT-OBJECTION")
    assert entries(nurse.get("/fhir/Patient").json()) == {"Patient/pd"}
    assert gp.get("/fhir/Patient/pa").status_code == 200  # the holding centre keeps its record
    put(centre, consent("c-pa-yes", "pa", "permit", "2026-11-15T10:00:00+01:00", NURSE_PS))
    assert nurse.get("/fhir/Patient/pa").status_code == 200
    put(centre, consent("c-pd-no", "pd", "deny", "2026-11-20T10:00:00+01:00"))  # objection after a consent
    refused(nurse.get("/fhir/Patient/pd"), ids, code="CONSENT-OBJECTION")


def test_pages_stay_full_whatever_consent_hides(territory: dict[str, httpx.Client]) -> None:
    centre, nurse = territory["centre"], territory["nurse"]
    for n in range(6):  # hidden patients between the visible ones
        put(centre, patient(f"pb{n}", IPP_A, "Hidden"))
    seen, pages = [], 0
    url: str | None = "/fhir/Patient?_count=1"
    while url:
        page = nurse.get(url).json()
        pages += 1
        seen += sorted(entries(page))
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert seen == ["Patient/pa", "Patient/pd"] and pages == 2  # no empty page tells that more were hidden


def test_roles_without_patient_data(ids: Identities, territory: dict[str, httpx.Client]) -> None:
    coordinator = ids.client("coord", "coordinator")
    refused(coordinator.get("/fhir/Patient"), ids, code="SEC-ROLE")
    refused(coordinator.get("/fhir/Patient/pa"), ids, code="SEC-ROLE")
    refused(coordinator.get("/fhir/Slot?_revinclude=Appointment:slot"), ids, code="SEC-ROLE")
    refused(coordinator.get("/fhir/Practitioner?_revinclude=CareTeam:participant"), ids, code="SEC-ROLE")
    assert coordinator.get("/fhir/Practitioner").status_code == 200
    sas = ids.client("sas", "sas-consumer")
    assert sas.get(INT_R04_EXAMPLE).status_code == 200  # the SAS searches Slots with INT_R04 requests only
    refused(sas.get("/fhir/Schedule"), ids, code="SEC-ROLE")  # the SAS contract: Slot search only
    refused(sas.get("/fhir/Appointment/appt-pa"), ids, code="SEC-ROLE")
    admin = ids.client("ops", "admin")
    refused(admin.get("/fhir/Patient/pa"), ids, code="SEC-ROLE")


def test_attack_overwriting_or_deleting_a_hidden_patients_record(
    ids: Identities, territory: dict[str, httpx.Client]
) -> None:
    """A practitioner may not replace (with content about a patient it may see) nor delete a referral about a
    patient hidden from it."""
    centre, nurse = territory["centre"], territory["nurse"]
    hidden = {
        "resourceType": "Task",
        "id": "t-pc",
        "status": "requested",
        "intent": "order",
        "for": {"reference": "Patient/pc"},
    }
    put(centre, hidden)
    refused(
        nurse.put("/fhir/Task/t-pc", json={**hidden, "for": {"reference": "Patient/pa"}}), ids, code="CONSENT-REQUIRED"
    )
    refused(nurse.delete("/fhir/Task/t-pc"), ids, code="CONSENT-REQUIRED")
    assert centre.get("/fhir/Task/t-pc").json()["for"]["reference"] == "Patient/pc"
