"""The indicator exports over real HTTP with real tokens: definitions, the CSV of a period, the monthly series; and
the same exports from the command line."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from typing import Any

import orjson

from gateway.settings import Settings
from tests.gateway.indicators.report_shapes import report
from tests.gateway.indicators.reports_territory import seed
from tests.security.identities import CENTRE_A, CENTRE_B, Identities


def monthly(month: str, end: str, a: tuple[int, int], b: tuple[int, int]) -> list[dict[str, Any]]:
    """IND-NOSHOW of one month: (denominator, numerator) for A and B, and the CPTS sum."""
    cpts = (a[0] + b[0], a[1] + b[1])
    start = f"{month}-01"
    return [
        report({"denominator": a[0], "numerator": a[1]}, finess=CENTRE_A, organization="org-a", start=start, end=end),
        report({"denominator": b[0], "numerator": b[1]}, finess=CENTRE_B, organization="org-b", start=start, end=end),
        report({"denominator": cpts[0], "numerator": cpts[1]}, start=start, end=end),
    ]


MONTHS = [
    *monthly("2026-07", "2026-07-31", (40, 3), (80, 12)),  # A: 3 masked; CPTS 15 - 12 = 3: masked
    *monthly("2026-08", "2026-08-31", (50, 0), (90, 18)),  # nothing small (0 is not masked)
]


def _csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8").removeprefix("\ufeff")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))


def test_reports_definitions_follow_the_audience(ids: Identities) -> None:
    coordinator = ids.client("coordination", "coordinator").get("/indicators/definitions").json()
    manager = ids.client("director-a", "centre-manager", tenant=CENTRE_A).get("/indicators/definitions").json()
    assert len(manager) == 12 and len(coordinator) == 9
    assert {d["id"] for d in manager} - {d["id"] for d in coordinator} == {"IND-CCAM", "IND-REJECT", "IND-UNPAID"}
    noshow = next(d for d in coordinator if d["id"] == "IND-NOSHOW")
    assert noshow["title"] == {"fr": "Taux de non-venue", "en": "No-show rate"}
    assert (noshow["scoring"], noshow["unit"], noshow["audience"]) == ("proportion", "%", ["centre", "coordinator"])
    assert set(noshow["description"]) == {"fr", "en"}
    assert ids.centre(CENTRE_A).get("/indicators/definitions").status_code == 403  # no `indicators` operation


def test_reports_csv_export_is_french_and_masked_for_coordinators(ids: Identities) -> None:
    seed(ids.engine, ids.settings)
    response = ids.client("coordination", "coordinator").get("/indicators/export.csv?period=2026-Q3")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = _csv(response.content)
    assert {r["indicateur"] for r in rows} == {"IND-NOSHOW"}  # never IND-UNPAID
    assert [(r["finess"], r["stratificateur"], r["strate"]) for r in rows] == [
        (CENTRE_A, "", ""), (CENTRE_A, "profession", "10"), (CENTRE_A, "profession", "60"),
        (CENTRE_B, "", ""), (CENTRE_B, "profession", "10"), (CENTRE_B, "profession", "60"),
        ("", "", ""), ("", "profession", "10"), ("", "profession", "60"),
    ]  # fmt: skip
    a, b, cpts = rows[0], rows[3], rows[6]
    assert (a["centre"], a["periode"], a["debut"], a["fin"]) == ("MSP des Lilas", "2026-Q3", "2026-07-01", "2026-09-30")
    assert (a["denominator"], a["numerator"], a["valeur"], a["masque"]) == ("120", "", "", "oui")
    assert (b["numerator"], b["valeur"], b["unite"], b["masque"]) == ("30", "12", "%", "non")
    assert (cpts["centre"], cpts["initial-population"], cpts["numerator"]) == ("CPTS", "430", "")
    manager = ids.client("director-a", "centre-manager", tenant=CENTRE_A)
    own = _csv(manager.get("/indicators/export.csv?period=2026-07-01/2026-09-30").content)
    assert {(r["finess"], r["indicateur"]) for r in own} == {(CENTRE_A, "IND-NOSHOW"), (CENTRE_A, "IND-UNPAID"),
                                                             ("", "IND-NOSHOW")}  # fmt: skip
    assert next(r for r in own if r["finess"] == CENTRE_A and r["indicateur"] == "IND-UNPAID")["valeur"] == "7,5"
    bad = manager.get("/indicators/export.csv?period=2026-Q5")
    assert bad.status_code == 400 and bad.json()["issue"][0]["expression"] == ["parameter:period"]
    assert manager.get("/indicators/export.csv").status_code == 400


def test_reports_monthly_series(ids: Identities) -> None:
    seed(ids.engine, ids.settings, MONTHS)
    coordinator = ids.client("coordination", "coordinator")
    found = coordinator.get("/indicators/series?measure=IND-NOSHOW&from=2026-06&to=2026-09").json()
    assert found["measure"] == "IND-NOSHOW" and found["unit"] == "%"
    assert found["title"] == {"fr": "Taux de non-venue", "en": "No-show rate"}
    assert found["months"] == ["2026-06", "2026-07", "2026-08", "2026-09"]
    empty = {"value": None, "numerator": None, "denominator": None, "masked": False}
    assert found["cpts"] == [
        {"month": "2026-06", **empty},
        {"month": "2026-07", "value": None, "numerator": None, "denominator": 120, "masked": True},
        {"month": "2026-08", "value": 12.86, "numerator": 18, "denominator": 140, "masked": False},
        {"month": "2026-09", **empty},
    ]
    assert [(c["finess"], c["name"]) for c in found["centres"]] == [(CENTRE_A, "MSP des Lilas"),
                                                                    (CENTRE_B, "Centre de santé Bellevue")]  # fmt: skip
    a = found["centres"][0]["points"]
    assert a[1] == {"month": "2026-07", "value": None, "numerator": None, "denominator": 40, "masked": True}
    assert a[2] == {"month": "2026-08", "value": 0.0, "numerator": 0, "denominator": 50, "masked": False}
    manager = ids.client("director-a", "centre-manager", tenant=CENTRE_A)
    own = manager.get("/indicators/series?measure=ind-noshow&from=2026-07&to=2026-07").json()
    assert [c["finess"] for c in own["centres"]] == [CENTRE_A]
    assert own["centres"][0]["points"][0]["numerator"] == 3  # its own, unmasked
    assert own["cpts"][0]["masked"] is False and own["cpts"][0]["numerator"] == 15  # 15 - 3 = 12 are others'
    refused = coordinator.get("/indicators/series?measure=IND-UNPAID&from=2026-01&to=2026-12")
    assert refused.status_code == 403
    assert manager.get("/indicators/series?measure=IND-UNPAID&from=2026-01&to=2026-12").status_code == 200
    for query, where in (
        ("measure=IND-NOSHOW&from=2026-13&to=2026-12", "parameter:from"),
        ("measure=IND-NOSHOW&from=2026-06&to=2026-01", "parameter:to"),
        ("measure=IND-NOSHOW&from=2016-01&to=2026-12", "parameter:to"),
        ("from=2026-01&to=2026-12", "parameter:measure"),
        ("measure=IND-NOPE&from=2026-01&to=2026-12", "parameter:measure"),
    ):
        bad = coordinator.get(f"/indicators/series?{query}")
        assert bad.status_code in (400, 404) and bad.json()["issue"][0]["expression"] == [where], query


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line on the test database, with the test server's keys (nothing written in the work tree)."""
    env = {**os.environ, "CPTS_DATABASE_URL": settings.database_url, "CPTS_LOG_LEVEL": "WARNING",
           "CPTS_KEYS_DIR": str(settings.keys_dir)}  # fmt: skip
    command = [sys.executable, "-m", "gateway", "indicators", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_reports_exports_from_the_command_line(ids: Identities, tmp_path: Any) -> None:
    seed(ids.engine, ids.settings, MONTHS)
    settings = ids.settings
    out = tmp_path / "q3.csv"
    done = _cli(settings, "export", "--period", "2026-07", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = _csv(out.read_bytes())
    expected = [(CENTRE_A, "", "oui"), (CENTRE_B, "12", "non"), ("", "", "oui")]
    assert [(r["finess"], r["numerator"], r["masque"]) for r in rows] == expected
    series = _cli(settings, "series", "--measure", "IND-NOSHOW", "--from", "2026-07", "--to", "2026-08", "--json")
    assert series.returncode == 0, series.stderr
    assert orjson.loads(series.stdout)["cpts"][1]["value"] == 12.86
    table = _cli(settings, "series", "--measure", "IND-NOSHOW", "--from", "2026-07", "--to", "2026-08")
    assert table.returncode == 0 and "masked" in table.stdout and "12.86" in table.stdout
    bad = _cli(settings, "export", "--period", "Q3-2026")
    assert bad.returncode == 2 and "--period" in bad.stderr and "Traceback" not in bad.stderr
