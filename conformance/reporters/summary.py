"""What every reporter shows alike: counts per result, per area, and each check's requirements and fix."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from conformance.catalog import Requirement, catalog
from conformance.model import RESULTS, Outcome, RunReport
from conformance.registry import GROUPS, Check, load_checks


@dataclass(frozen=True)
class Line:
    check: Check
    outcome: Outcome
    requirements: tuple[Requirement, ...]


def lines(report: RunReport) -> list[Line]:
    checks, requirements = load_checks(), catalog()
    return [
        Line(checks[o.check], o, tuple(requirements[r] for r in checks[o.check].verifies if r in requirements))
        for o in report.outcomes
        if o.check in checks
    ]


def counts(outcomes: list[Outcome]) -> dict[str, int]:
    found = Counter(o.result for o in outcomes)
    return {result: found[result] for result in RESULTS}


def by_group(report: RunReport) -> dict[str, list[Line]]:
    found: dict[str, list[Line]] = {}
    for line in lines(report):
        found.setdefault(line.check.group, []).append(line)
    return found


def group_title(group_id: str) -> str:
    return GROUPS[group_id].title if group_id in GROUPS else group_id


def verdict(report: RunReport) -> str:
    from conformance.runner import conforms

    return "conforms" if conforms(report) else "does not conform"


__all__ = ["Line", "by_group", "counts", "group_title", "lines", "verdict"]
