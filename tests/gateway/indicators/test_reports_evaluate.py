"""``$evaluate-measure`` and ``cpts-gateway indicators compute`` end to end: the indicator engine (contract C1) on
stored appointments, then storage, masking and the series.

IND-NOSHOW, July 2026 (N = 10): centre A has 12 fulfilled and 3 no-show appointments, centre B 20 and 2.
    A: denominator 15, numerator 3 (masked for coordinators)     B: denominator 22, numerator 2 (masked)
    CPTS: denominator 37 (37 - 15 - 22 = 0: shown), numerator 5 (5 - 0 = 5 unseen by coordinators: masked)
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import httpx
import orjson
import pytest

from gateway.settings import Settings
from tests.gateway.indicators.report_shapes import cell
from tests.gateway.indicators.reports_territory import organization
from tests.security.identities import CENTRE_A, CENTRE_B, Identities

JULY = "periodStart=2026-07-01&periodEnd=2026-07-31"


def _appointments(http: httpx.Client, prefix: str, fulfilled: int, noshow: int) -> None:
    for i in range(fulfilled + noshow):
        status = "fulfilled" if i < fulfilled else "noshow"
        day = 1 + i % 28
        body = {
            "resourceType": "Appointment",
            "id": f"{prefix}-{i}",
            "status": status,
            "start": f"2026-07-{day:02d}T09:00:00+02:00",
            "end": f"2026-07-{day:02d}T09:20:00+02:00",
            "participant": [{"actor": {"reference": f"Patient/{prefix}-p{i}"}, "status": "accepted"}],
        }
        response = http.put(f"/fhir/Appointment/{body['id']}", json=body)
        assert response.status_code in (200, 201), response.text


@pytest.fixture
def july(ids: Identities) -> Identities:
    for finess, org_id, name, prefix, fulfilled, noshow in (
        (CENTRE_A, "org-a", "MSP des Lilas", "a", 12, 3),
        (CENTRE_B, "org-b", "Centre de santé Bellevue", "b", 20, 2),
    ):
        centre = ids.centre(finess)
        assert centre.put(f"/fhir/Organization/{org_id}", json=organization(org_id, finess, name)).status_code == 201
        _appointments(centre, prefix, fulfilled, noshow)
    return ids


def test_reports_evaluate_measure_computes_stores_and_masks(july: Identities) -> None:
    coordinator = july.client("coordination", "coordinator")
    response = coordinator.post(f"/fhir/Measure/ind-noshow/$evaluate-measure?{JULY}")
    assert response.status_code == 200, response.text
    cpts = response.json()
    assert cpts["subject"]["identifier"] == {"system": "urn:cpts-gateway:scope", "value": "cpts"}
    assert (cell(cpts, "denominator"), cell(cpts, "numerator")) == (37, "masked")
    stored = coordinator.get("/fhir/MeasureReport?measure=IND-NOSHOW&period=ge2026-07-01&period=le2026-07-31").json()
    reports = {e["resource"]["subject"]["identifier"]["value"]: e["resource"] for e in stored["entry"]}
    assert sorted(reports) == sorted([CENTRE_A, CENTRE_B, "cpts"])
    assert (cell(reports[CENTRE_A], "denominator"), cell(reports[CENTRE_A], "numerator")) == (15, "masked")
    again = coordinator.post(f"/fhir/Measure/ind-noshow/$evaluate-measure?{JULY}")
    assert again.status_code == 200 and again.json()["meta"]["versionId"] == "1"  # same data: no new version
    manager = july.client("director-a", "centre-manager", tenant=CENTRE_A)
    own = manager.post(f"/fhir/Measure/ind-noshow/$evaluate-measure?{JULY}").json()
    assert own["subject"]["identifier"]["value"] == CENTRE_A
    assert (cell(own, "numerator"), own["group"][0]["measureScore"]["value"]) == (3, 20.0)
    one = coordinator.post(f"/fhir/Measure/ind-noshow/$evaluate-measure?{JULY}&subject=Organization/org-b").json()
    assert (cell(one, "denominator"), cell(one, "numerator")) == (22, "masked")


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line on the test database, with the test server's keys (nothing written in the work tree)."""
    env = {**os.environ, "CPTS_DATABASE_URL": settings.database_url, "CPTS_LOG_LEVEL": "WARNING",
           "CPTS_KEYS_DIR": str(settings.keys_dir)}  # fmt: skip
    command = [sys.executable, "-m", "gateway", "indicators", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_reports_compute_command_stores_quarter_and_months(july: Identities) -> None:
    settings = july.settings
    built = _cli(settings, "refresh")  # the first refresh of a database builds the daily rollups
    assert built.returncode == 0 and "built from every slot and appointment" in built.stdout, built.stderr
    fresh = _cli(settings, "refresh")
    assert fresh.returncode == 0 and "brought up to date: 0 days" in fresh.stdout, fresh.stderr
    done = _cli(settings, "compute", "--period", "2026-Q3", "--monthly", "--measure", "IND-NOSHOW")
    assert done.returncode == 0, done.stderr
    assert "period 2026-Q3: 3 reports" in done.stdout and "period 2026-09: 3 reports" in done.stdout
    again = _cli(settings, "compute", "--period", "2026-07", "--measure", "IND-NOSHOW")
    assert again.returncode == 0 and again.stdout.count("unchanged") == 3
    series = _cli(settings, "series", "--measure", "IND-NOSHOW", "--from", "2026-07", "--to", "2026-09", "--json")
    found: dict[str, Any] = orjson.loads(series.stdout)
    assert found["cpts"][0] == {"month": "2026-07", "value": None, "numerator": None, "denominator": 37,
                                "masked": True}  # fmt: skip
    assert found["cpts"][1]["denominator"] == 0 and found["cpts"][1]["value"] is None  # August: no appointment
    one = _cli(settings, "compute", "--period", "2026-07", "--tenant", CENTRE_A)
    assert one.returncode == 0 and "cpts" not in one.stdout
    bad = _cli(settings, "compute", "--period", "2026-Q9")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
