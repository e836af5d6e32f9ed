"""The ``consents`` CSV export end to end: a centre's file over ``POST /ingest/csv`` becomes sharing Consents in the
shape the consent rules read; a re-sent row updates its Consent; a bad cell rejects its row alone, located."""

from __future__ import annotations

import time
from typing import Any

import httpx

from mappings.catalog import default_catalog
from tests.mappings.csv.test_golden import DATA, run_case

TENANT = "350000014"
SHARING = "urn:cpts-gateway:consent-category|sharing"
HEADER = (
    "id_consentement;ipp;decision;exprime_le;statut;date_debut;date_fin;"
    "destinataire_id_nat_ps;destinataire_finess;destinataire_profession\r\n"
)


def ingest(client: httpx.Client, export: str, body: str) -> dict[str, Any]:
    """Post a CSV file (named ``<export>.csv``, which locates its cells) and wait for its job's report."""
    response = client.post(
        f"/ingest/csv?export={export}&tenant={TENANT}",
        content=body.encode("utf-8"),
        headers={"Content-Disposition": f'attachment; filename="{export}.csv"'},
    )
    assert response.status_code == 202, response.text
    href = response.json()["href"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        report: dict[str, Any] = client.get(href).json()
        if report["status"] in ("done", "rejected"):
            return report
        time.sleep(0.05)
    raise AssertionError(f"{href} did not finish")


def consent(client: httpx.Client, consent_id: str) -> dict[str, Any]:
    bundle = client.get(
        "/fhir/Consent", params={"identifier": f"urn:cpts-gateway:consent:{TENANT}|sharing:{consent_id}"}
    )
    assert bundle.status_code == 200, bundle.text
    entries = bundle.json().get("entry", [])
    assert len(entries) == 1, bundle.text
    found: dict[str, Any] = entries[0]["resource"]
    return found


def test_a_consents_file_becomes_sharing_consents(client: httpx.Client) -> None:
    patients = ingest(client, "patients", "ipp;nom_naissance\r\n00000001;DUPONT\r\n")
    assert patients["counts"]["accepted"] == 1
    patient_id = patients["records"][0]["resources"][0].split("/")[1]
    report = ingest(
        client,
        "consents",
        HEADER
        + "CST-1;00000001;opposition;02/03/2026 09:15;;;;;;\r\n"
        + "CST-2;00000001;consentement;02/03/2026 10:00;;02/03/2026;31/12/2026;819990001018;;\r\n"
        + "CST-3;00000001;accord;02/03/2026 10:05;;;;;350000014;60\r\n",
    )
    assert report["counts"] == {"accepted": 3, "duplicate": 0, "rejected": 0}, report

    objection = consent(client, "CST-1")
    assert objection["status"] == "active"
    assert objection["scope"]["coding"][0]["code"] == "patient-privacy"
    assert [c["coding"][0]["code"] for c in objection["category"]] == ["59284-0", "sharing"]
    assert objection["patient"] == {"reference": f"Patient/{patient_id}"}  # resolved to the stored patient
    assert objection["dateTime"] == "2026-03-02T09:15:00+01:00"
    assert objection["provision"]["type"] == "deny"
    assert "actor" not in objection["provision"]  # a general objection: it applies to everyone
    assert objection["provision"]["action"] == [
        {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "access"}]}
    ]
    assert len(objection["organization"]) == 1 and objection["organization"][0]["reference"].startswith("Organization")

    named = consent(client, "CST-2")
    assert named["provision"]["type"] == "permit"
    assert named["provision"]["period"] == {"start": "2026-03-02", "end": "2026-12-31"}
    assert named["provision"]["actor"][0]["reference"] == {
        "type": "Practitioner",
        "identifier": {"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "819990001018"},
    }
    assert named["provision"]["actor"][0]["role"]["coding"][0]["code"] == "PRCP"

    both = consent(client, "CST-3")["provision"]["actor"]
    assert [actor["reference"]["identifier"]["value"] for actor in both] == ["350000014", TENANT]
    assert both[1]["role"]["coding"][0]["code"] == "60"

    listed = client.get("/fhir/Consent", params={"category": SHARING, "patient": f"Patient/{patient_id}"}).json()
    assert listed["total"] == 3


def test_a_resent_row_updates_its_consent(client: httpx.Client) -> None:
    first = ingest(client, "consents", HEADER + "CST-9;00000009;consentement;02/03/2026 09:00;;;;;;\r\n")
    again = ingest(client, "consents", HEADER + "CST-9;00000009;consentement;02/03/2026 09:00;;;;;;\r\n")
    assert again["counts"]["duplicate"] == 1  # nothing changed: no new version
    withdrawn = ingest(client, "consents", HEADER + "CST-9;00000009;consentement;02/03/2026 09:00;retiré;;;;;\r\n")
    assert withdrawn["counts"]["accepted"] == 1
    stored = consent(client, "CST-9")
    assert stored["status"] == "inactive"
    assert first["records"][0]["resources"][0].split("/_history")[0] == f"Consent/{stored['id']}"
    assert stored["meta"]["versionId"] == "2"


def test_a_bad_cell_rejects_its_row_alone_with_its_location(client: httpx.Client) -> None:
    report = ingest(
        client,
        "consents",
        HEADER
        + "CST-1;00000001;opposition;02/03/2026 09:15;;;;;;\r\n"
        + "CST-2;00000002;consentement;02/03/2026 10:00;;;;8199900010;;\r\n"
        + "CST-3;00000003;consentement;02/03/2026 10:00;;;;;350000015;\r\n",
    )
    assert [record["status"] for record in report["records"]] == ["accepted", "rejected", "rejected"]
    assert report["records"][1]["issues"][0]["expression"] == ["consents.csv:3:destinataire_id_nat_ps"]
    assert report["records"][2]["issues"][0]["expression"] == ["consents.csv:4:destinataire_finess"]
    assert "check key" in report["records"][2]["issues"][0]["diagnostics"]


def test_the_vendor_layout_gives_the_same_consents_as_the_reference_format() -> None:
    reference = run_case(DATA / "reference" / "consents" / "same-content.csv")
    acme = run_case(DATA / "acme-sante" / "consents" / "same-content.csv")
    assert all("resources" in row for row in reference["rows"]) and len(reference["rows"]) == 7
    assert [row["resources"] for row in acme["rows"]] == [row["resources"] for row in reference["rows"]]
    assert acme["read"]["unused_columns"] == []


def test_the_decision_words_are_the_same_in_both_tables() -> None:
    tables = default_catalog().tables
    decision, directive = tables["consent-decision"].map, tables["consent-directive"].map
    assert set(decision) == set(directive)
    codes = {"permit": "OPTIN", "deny": "OPTOUT"}
    assert all(directive[word]["coding"][0]["code"] == codes[kind] for word, kind in decision.items())
