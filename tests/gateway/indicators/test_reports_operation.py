"""``$evaluate-measure``: what is refused before anything is computed (parameters, roles, audiences), and the
CapabilityStatement listing the operation. The computation itself: test_reports_evaluate.py."""

from __future__ import annotations

import httpx
import pytest

from tests.security.identities import CENTRE_A, CENTRE_B, Identities

OPERATION = "/fhir/Measure/ind-noshow/$evaluate-measure"


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("periodEnd=2026-09-30", "parameter:periodStart"),
        ("periodStart=2026-07-01", "parameter:periodEnd"),
        ("periodStart=2026-07-01&periodEnd=", "parameter:periodEnd"),
        ("periodStart=2026-07-32&periodEnd=2026-09-30", "parameter:periodStart"),
        ("periodStart=01/07/2026&periodEnd=2026-09-30", "parameter:periodStart"),
        ("periodStart=2026-10-01&periodEnd=2026-09-30", "parameter:periodEnd"),
        ("periodStart=2026-07&periodEnd=2026-09&reportType=subject-list", "parameter:reportType"),
        ("periodStart=2026-07&periodEnd=2026-09&subject=Patient/p1", "parameter:subject"),
        ("periodStart=2026-07&periodEnd=2026-09&subject=Organization/no-such-centre", "parameter:subject"),
        ("periodStart=2026-07&periodEnd=2026-09&measure=IND-NOSHOW", "parameter:measure"),
        ("periodStart=2026&periodStart=2026&periodEnd=2026", "parameter:periodStart"),
    ],
)
def test_reports_evaluate_measure_refuses_bad_parameters(ids: Identities, query: str, where: str) -> None:
    coordinator = ids.client("coordination", "coordinator")
    response = coordinator.post(f"{OPERATION}?{query}")
    assert response.status_code in (400, 404), response.text
    issue = response.json()["issue"][0]
    assert issue["expression"] == [where]
    assert "Traceback" not in response.text


def test_reports_evaluate_measure_parameters_resource_body_is_read(ids: Identities) -> None:
    coordinator = ids.client("coordination", "coordinator")
    body = {"resourceType": "Parameters", "parameter": [{"name": "periodStart", "valueDate": "2026-07-01"},
                                                        {"name": "reportType", "valueCode": "individual"}]}  # fmt: skip
    response = coordinator.post(OPERATION, json=body)
    assert response.status_code == 400 and response.json()["issue"][0]["expression"] == ["parameter:periodEnd"]
    wrong = coordinator.post(OPERATION, json={"resourceType": "Patient"})
    assert wrong.status_code == 400 and wrong.json()["issue"][0]["expression"] == ["Parameters"]


def test_reports_evaluate_measure_is_refused_to_who_may_not_compute(ids: Identities) -> None:
    query = "periodStart=2026-07-01&periodEnd=2026-09-30"
    coordinator = ids.client("coordination", "coordinator")
    unpaid = coordinator.post(f"/fhir/Measure/ind-unpaid/$evaluate-measure?{query}")
    assert unpaid.status_code == 403 and "SEC-INDICATOR-AUDIENCE" in unpaid.text
    assert ids.centre(CENTRE_A).post(f"{OPERATION}?{query}").status_code == 403  # no `indicators` operation
    sas = ids.client("sas", "sas-consumer")
    assert sas.post(f"{OPERATION}?{query}").status_code == 403
    assert coordinator.post(f"/fhir/Measure/ind-nope/$evaluate-measure?{query}").status_code == 404
    other = {"resourceType": "Organization", "id": "org-b", "name": "B",
             "identifier": [{"system": "https://finess.esante.gouv.fr", "value": CENTRE_B}]}  # fmt: skip
    assert ids.centre(CENTRE_B, "centre-b-writer").put("/fhir/Organization/org-b", json=other).status_code == 201
    manager = ids.client("director-a", "centre-manager", tenant=CENTRE_A)
    elsewhere = manager.post(f"{OPERATION}?{query}&subject=Organization/org-b")
    assert elsewhere.status_code == 403 and elsewhere.json()["issue"][0]["expression"] == ["parameter:subject"]


def test_reports_capability_statement_lists_evaluate_measure(client: httpx.Client) -> None:
    statement = client.get("/fhir/metadata").json()
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {
        "name": "evaluate-measure",
        "definition": f"{client.base_url}/fhir/OperationDefinition/evaluate-measure",
    } in (resources["Measure"]["operation"])
    names = {p["name"] for p in resources["MeasureReport"]["searchParam"]}
    assert {"measure", "subject", "subject-identifier", "period", "status", "date"} <= names
