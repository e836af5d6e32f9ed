"""Operations endpoints: liveness, readiness, Prometheus metrics, request ids."""

import httpx
import pytest


def test_healthz(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_database_and_migrations(client: httpx.Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


def test_metrics_count_requests_by_route_template_and_status(client: httpx.Client) -> None:
    client.get("/fhir/Patient/does-not-exist")
    client.get("/fhir/Patient/another-one")
    text = client.get("/metrics").text
    line = 'cpts_http_requests_total{method="GET",route="/fhir/{resource_type}/{resource_id}",status="404"}'
    counts = [float(row.rsplit(" ", 1)[1]) for row in text.splitlines() if row.startswith(line)]
    assert counts and counts[0] >= 2
    assert "cpts_http_request_duration_seconds_bucket" in text
    assert "/fhir/Patient/does-not-exist" not in text  # route templates only: bounded label cardinality


def test_request_id_is_echoed_or_generated(client: httpx.Client) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32


def test_unknown_endpoint_is_an_operation_outcome(client: httpx.Client) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    ("headers", "params", "status"),
    [
        ({"Accept": "application/fhir+xml"}, {}, 406),
        ({"Accept": "text/html, application/xhtml+xml"}, {}, 406),
        ({}, {"_format": "xml"}, 406),
        ({"Accept": "application/json+fhir"}, {}, 200),
        ({"Accept": "application/fhir+json; fhirVersion=4.0"}, {}, 200),
        ({"Accept": "*/*"}, {"_format": "json"}, 200),
    ],
)
def test_only_json_is_served(
    client: httpx.Client, headers: dict[str, str], params: dict[str, str], status: int
) -> None:
    response = client.get("/fhir/Patient", headers=headers, params=params)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/fhir+json")
