"""Stored indicator reports over real HTTP with real tokens: storage, search parameters, and what each role receives.

The territory (tests/gateway/indicators/reports_territory.py), IND-NOSHOW 2026-Q3, N = 10 (the default):

    counts           initial  denominator  exclusion  numerator   profession 10 (den/num)   profession 60 (den/num)
    centre A           130       120           4          7            100 / 5                   20 / 2
    centre B           300       250          20         30            200 / 28                  50 / 2
    CPTS (A + B)       430       370          24         37            300 / 33                  70 / 4

Coordinator: A's exclusion (4) and numerator (7) are masked, and its profession numerators (5, 2); B's profession 60
numerator (2) is masked, and with it the complement profession 10 (28), since 30 - 28 would give the 2 back. In the
CPTS report, the numerator 37 minus what the coordinator sees of the centres (B: 30) is 7 = A's masked count: masked;
the exclusions likewise (24 - 20 = 4); the initial population and denominator (430 - 130 - 300 = 0) stay.
Centre A sees its own report as stored; in the CPTS report, 37 - 7 = 30 is other centres' and stays, but the
profession 60 numerator (4) is small, and its complement profession 10 (33) goes with it.
"""

from __future__ import annotations

from typing import Any

import httpx

from gateway.indicators.reports import store_reports
from tests.gateway.indicators.report_shapes import cell, report
from tests.gateway.indicators.reports_territory import NOSHOW_A, NOSHOW_B, NOSHOW_CPTS, UNPAID_A, seed
from tests.security.identities import CENTRE_A, CENTRE_B, Identities

MEASURE = "urn:cpts-gateway:measure:IND-NOSHOW"


def _entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", []) if e.get("search", {}).get("mode", "match") == "match"]


def _by_subject(reports: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["subject"]["identifier"]["value"]: r for r in reports if r["resourceType"] == "MeasureReport"}


def _get(http: httpx.Client, url: str, status: int = 200) -> dict[str, Any]:
    response = http.get(url)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def test_reports_storage_is_idempotent_apart_from_the_generation_date(ids: Identities) -> None:
    first = seed(ids.engine, ids.settings)
    assert [o.outcome for o in first] == ["created", "created", "created", "created", "skipped"]
    assert first[4].subject == "cpts" and first[4].indicator == "IND-UNPAID"  # no audience for a CPTS financial total
    again = [{**r, "date": "2026-10-02T09:30:00+02:00"} for r in (NOSHOW_A, NOSHOW_B, NOSHOW_CPTS, UNPAID_A)]
    assert [o.outcome for o in store_reports(ids.engine, ids.settings, again)] == ["unchanged"] * 4
    changed = {**NOSHOW_A, "date": "2026-10-03T09:30:00+02:00", "status": "pending"}
    assert store_reports(ids.engine, ids.settings, [changed])[0].outcome == "updated"
    manager = ids.client("director-a", "centre-manager", tenant=CENTRE_A)
    stored = _get(manager, f"/fhir/MeasureReport/{NOSHOW_A['id']}")
    assert stored["meta"]["versionId"] == "2" and stored["date"] == "2026-10-03T09:30:00+02:00"


def test_reports_search_parameters(ids: Identities) -> None:
    seed(ids.engine, ids.settings)
    manager = ids.client("director-b", "centre-manager", tenant=CENTRE_B)
    coordinator = ids.client("coordination", "coordinator")
    for query in ("measure=IND-NOSHOW", f"measure={MEASURE}", "measure=Measure/ind-noshow"):
        found = _by_subject(_entries(_get(coordinator, f"/fhir/MeasureReport?{query}")))
        assert sorted(found) == sorted([CENTRE_A, CENTRE_B, "cpts"]), query
    cpts = _entries(_get(coordinator, "/fhir/MeasureReport?subject:identifier=urn:cpts-gateway:scope|cpts"))
    assert [r["id"] for r in cpts] == [NOSHOW_CPTS["id"]]
    by_finess = f"subject:identifier=https://finess.esante.gouv.fr|{CENTRE_A}"
    assert [r["id"] for r in _entries(_get(coordinator, f"/fhir/MeasureReport?{by_finess}"))] == [NOSHOW_A["id"]]
    own = _entries(_get(manager, "/fhir/MeasureReport?subject=Organization/org-b&status=complete"))
    assert [r["id"] for r in own] == [NOSHOW_B["id"]]
    assert _entries(_get(manager, "/fhir/MeasureReport?subject=Organization/org-b&period=ge2026-10-01")) == []
    within = _get(manager, "/fhir/MeasureReport?measure=IND-NOSHOW&period=ge2026-07-01&period=le2026-09-30")
    assert sorted(r["id"] for r in _entries(within)) == sorted([NOSHOW_B["id"], NOSHOW_CPTS["id"]])
    assert _entries(_get(manager, "/fhir/MeasureReport?date=ge2026-10-02")) == []


def test_reports_coordinator_receives_every_centre_masked_and_never_a_centre_only_indicator(ids: Identities) -> None:
    seed(ids.engine, ids.settings)
    coordinator = ids.client("coordination", "coordinator")
    bundle = _get(coordinator, "/fhir/MeasureReport?_total=accurate")
    assert bundle["total"] == 3  # A's IND-UNPAID is not even counted
    found = _by_subject(_entries(bundle))
    a, b, cpts = found[CENTRE_A], found[CENTRE_B], found["cpts"]
    assert [cell(a, c) for c in ("initial-population", "denominator", "denominator-exclusion", "numerator")] == [
        130, 120, "masked", "masked"]  # fmt: skip
    assert "measureScore" not in a["group"][0]
    assert (cell(a, "numerator", "10"), cell(a, "numerator", "60"), cell(a, "denominator", "60")) == (
        "masked", "masked", 20)  # fmt: skip
    assert cell(b, "numerator") == 30 and b["group"][0]["measureScore"] == {"value": 12.0, "unit": "%"}
    assert (cell(b, "numerator", "10"), cell(b, "numerator", "60")) == ("masked", "masked")  # the complement
    assert [cell(cpts, c) for c in ("initial-population", "denominator", "denominator-exclusion", "numerator")] == [
        430, 370, "masked", "masked"]  # fmt: skip
    assert (cell(cpts, "numerator", "10"), cell(cpts, "numerator", "60")) == (33, "masked")
    count = _get(coordinator, "/fhir/MeasureReport?_summary=count")
    assert count["total"] == 3
    assert _entries(_get(coordinator, "/fhir/MeasureReport?measure=IND-UNPAID")) == []
    refused = coordinator.get(f"/fhir/MeasureReport/{UNPAID_A['id']}")
    assert refused.status_code == 403 and "SEC-INDICATOR-AUDIENCE" in refused.text
    assert coordinator.get(f"/fhir/MeasureReport/{UNPAID_A['id']}/_history").status_code == 403
    read = _get(coordinator, f"/fhir/MeasureReport/{NOSHOW_A['id']}")
    assert cell(read, "numerator") == "masked" and read["meta"]["versionId"] == "1"
    vread = _get(coordinator, f"/fhir/MeasureReport/{NOSHOW_CPTS['id']}/_history/1")
    assert cell(vread, "numerator") == "masked" and cell(vread, "denominator") == 370
    history = _get(coordinator, f"/fhir/MeasureReport/{NOSHOW_A['id']}/_history")
    assert [cell(e["resource"], "numerator") for e in history["entry"]] == ["masked"]
    assert coordinator.get("/fhir/MeasureReport/_history").status_code == 403  # no type history for coordinators
    revincluded = _get(coordinator, "/fhir/Organization?_revinclude=MeasureReport:subject")
    included = [e["resource"] for e in revincluded["entry"] if e["resource"]["resourceType"] == "MeasureReport"]
    assert sorted(r["id"] for r in included) == sorted([NOSHOW_A["id"], NOSHOW_B["id"]])
    assert all(cell(r, "numerator", "60") == "masked" for r in included)
    assert coordinator.put(f"/fhir/MeasureReport/{NOSHOW_A['id']}", json=NOSHOW_A).status_code == 403


def test_reports_a_centre_sees_its_own_as_stored_and_the_cpts_masked(ids: Identities) -> None:
    seed(ids.engine, ids.settings)
    for centre in (ids.centre(CENTRE_A), ids.client("director-a", "centre-manager", tenant=CENTRE_A)):
        found = _by_subject(_entries(_get(centre, "/fhir/MeasureReport")))
        assert sorted(found) == [CENTRE_A, "cpts"]  # not centre B's
        own = _get(centre, f"/fhir/MeasureReport/{NOSHOW_A['id']}")
        assert {k: v for k, v in own.items() if k != "meta"} == {k: v for k, v in NOSHOW_A.items() if k != "meta"}
        assert cell(_get(centre, f"/fhir/MeasureReport/{UNPAID_A['id']}"), "numerator") == 3  # its own financial one
        cpts = found["cpts"]
        assert (cell(cpts, "numerator"), cell(cpts, "denominator-exclusion")) == (37, 24)  # 30 and 20 are others'
        assert (cell(cpts, "numerator", "60"), cell(cpts, "numerator", "10")) == ("masked", "masked")
        assert centre.get(f"/fhir/MeasureReport/{NOSHOW_B['id']}").status_code == 403
        history = _get(centre, "/fhir/_history?_count=50")
        versions = [e["resource"] for e in history["entry"] if e["resource"]["resourceType"] == "MeasureReport"]
        cpts_versions = [r for r in versions if r["id"] == NOSHOW_CPTS["id"]]
        assert cpts_versions and all(cell(r, "numerator", "60") == "masked" for r in cpts_versions)


def test_reports_a_quarter_never_gives_back_a_masked_month(ids: Identities) -> None:
    """Centre B's months of Q3: 12, 13 and 5 no-shows (the 5 masked). Its quarter's 30 minus the months shown (25)
    would give the 5 back: the quarter's numerator is masked for coordinators too; B itself sees everything."""
    months = [
        report({"denominator": den, "numerator": num}, finess=CENTRE_B, organization="org-b", start=start, end=end)
        for start, end, den, num in (
            ("2026-07-01", "2026-07-31", 80, 12),
            ("2026-08-01", "2026-08-31", 85, 13),
            ("2026-09-01", "2026-09-30", 85, 5),
        )
    ]
    seed(ids.engine, ids.settings, [NOSHOW_A, NOSHOW_B, NOSHOW_CPTS, *months])
    coordinator = ids.client("coordination", "coordinator")
    quarter = _get(coordinator, f"/fhir/MeasureReport/{NOSHOW_B['id']}")
    assert (cell(quarter, "denominator"), cell(quarter, "numerator")) == (250, "masked")  # 250 - 250 = 0: shown
    september = _get(coordinator, f"/fhir/MeasureReport/{months[2]['id']}")
    assert cell(september, "numerator") == "masked"
    found = _by_subject(_entries(_get(coordinator, "/fhir/MeasureReport?period=ge2026-07-01&period=le2026-09-30")))
    assert cell(found["cpts"], "numerator") == 37  # A and B both masked: 37 gives neither
    manager = ids.client("director-b", "centre-manager", tenant=CENTRE_B)
    assert cell(_get(manager, f"/fhir/MeasureReport/{NOSHOW_B['id']}"), "numerator") == 30
