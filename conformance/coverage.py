"""The coverage file ``conformance/coverage.csv``: for each requirement, the checks that verify it, or why none
does. Regenerate with ``cpts-gateway conformance coverage``; a test fails when the file is stale, when a SHALL
requirement has neither a check nor a not-tested reason, or when a check verifies an unknown requirement."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from conformance.catalog import catalog
from conformance.registry import load_checks

COVERAGE_FILE = Path(__file__).parent / "coverage.csv"


def coverage_text() -> str:
    checks = load_checks()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["requirement", "conformance", "area", "checks", "not_tested_reason"])
    for requirement in catalog().values():
        verifying = [c.id for c in checks.values() if requirement.id in c.verifies]
        writer.writerow([requirement.id, requirement.conformance, requirement.area, " ".join(verifying),
                         requirement.not_tested_reason])  # fmt: skip
    return out.getvalue()


def problems() -> list[str]:
    checks, requirements = load_checks(), catalog()
    found = [f"check {c.id} verifies unknown requirement {r}" for c in checks.values() for r in c.verifies
             if r not in requirements]  # fmt: skip
    for requirement in requirements.values():
        verified = any(requirement.id in c.verifies for c in checks.values())
        if requirement.mandatory and not verified and not requirement.not_tested_reason:
            found.append(f"SHALL requirement {requirement.id} has no check and no not-tested reason")
    return found


__all__ = ["COVERAGE_FILE", "coverage_text", "problems"]
