"""A small territory of stored indicator reports for the reports tests: two centres and the CPTS, IND-NOSHOW for
2026-Q3 (worked out in the module docstring of test_reports_access.py) and a centre-only IND-UNPAID of centre A."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from gateway.indicators.reports import ReportOutcome, store_reports
from gateway.settings import Settings
from gateway.storage.db import write_transaction
from gateway.storage.store import WriteItem, build_store
from tests.gateway.indicators.report_shapes import FINESS, report
from tests.security.identities import CENTRE_A, CENTRE_B

NOSHOW_A = report(
    {"initial-population": 130, "denominator": 120, "denominator-exclusion": 4, "numerator": 7},
    finess=CENTRE_A,
    organization="org-a",
    strata={"10": {"denominator": 100, "numerator": 5}, "60": {"denominator": 20, "numerator": 2}},
)
NOSHOW_B = report(
    {"initial-population": 300, "denominator": 250, "denominator-exclusion": 20, "numerator": 30},
    finess=CENTRE_B,
    organization="org-b",
    strata={"10": {"denominator": 200, "numerator": 28}, "60": {"denominator": 50, "numerator": 2}},
)
NOSHOW_CPTS = report(
    {"initial-population": 430, "denominator": 370, "denominator-exclusion": 24, "numerator": 37},
    strata={"10": {"denominator": 300, "numerator": 33}, "60": {"denominator": 70, "numerator": 4}},
)
UNPAID_A = report({"initial-population": 40, "denominator": 40, "numerator": 3}, measure="IND-UNPAID", finess=CENTRE_A,
                  organization="org-a")  # fmt: skip
UNPAID_CPTS = report({"initial-population": 90, "denominator": 90, "numerator": 5}, measure="IND-UNPAID")
QUARTER = [NOSHOW_A, NOSHOW_B, NOSHOW_CPTS, UNPAID_A, UNPAID_CPTS]


def organization(org_id: str, finess: str, name: str) -> dict[str, Any]:
    return {"resourceType": "Organization", "id": org_id, "name": name,
            "identifier": [{"system": FINESS, "value": finess}]}  # fmt: skip


def seed(engine: Engine, settings: Settings, reports: list[dict[str, Any]] | None = None) -> list[ReportOutcome]:
    """The two centres' Organizations (each in its tenant) and the reports, through the real store."""
    store = build_store(engine, settings)
    items = [
        WriteItem("Organization", "org-a", organization("org-a", CENTRE_A, "MSP des Lilas"), tenant=CENTRE_A),
        WriteItem(
            "Organization", "org-b", organization("org-b", CENTRE_B, "Centre de santé Bellevue"), tenant=CENTRE_B
        ),
    ]
    with write_transaction(engine) as conn:
        store.write(conn, items)
    return store_reports(engine, settings, QUARTER if reports is None else reports)
