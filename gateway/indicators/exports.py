"""The indicator exports (contract C2): the definitions list, the CSV of one period and the monthly series of one
indicator, each built from the stored reports *as the caller receives them* (gateway/indicators/release.py).

- ``definitions``: what the dashboard shows one click away (id, titles, descriptions, scoring, unit, audience);
- ``export_csv``: French CSV dialect (``;``, UTF-8 with BOM, decimal comma, CRLF), one row per centre (and the CPTS)
  by indicator, group and stratum; a masked count is an empty cell and the row says ``masque = oui``;
- ``series``: the reports whose period is one calendar month, month by month, for the CPTS and each centre.

A centre-only indicator needs the ``indicators-financial`` operation (centre managers): without it its rows are left
out of the CSV and its series is refused (403).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection

from gateway.errors import Forbidden, NotFound
from gateway.indicators.definitions import MeasureDefinition, load_definitions
from gateway.indicators.masking import is_masked
from gateway.indicators.periods import is_month, month_bounds, months
from gateway.indicators.release import ReportRelease
from gateway.indicators.reports import (
    MEASURE_PREFIX,
    audience,
    centre_of,
    find_reports,
    indicator_of,
    is_cpts_wide,
    period_of,
)
from gateway.storage.store import StoredResource
from security.principal import Principal

POPULATIONS = (
    "initial-population",
    "initial-population-2",
    "denominator",
    "denominator-exclusion",
    "denominator-exception",
    "numerator",
    "numerator-exclusion",
    "measure-population",
    "measure-population-exclusion",
    "measure-observation",
    "measure-observation-2",
)
HEADER = (
    "periode", "debut", "fin", "finess", "centre", "indicateur", "groupe", "stratificateur", "strate",
    *POPULATIONS, "valeur", "unite", "masque",
)  # fmt: skip


@lru_cache(maxsize=1)
def known_definitions() -> tuple[MeasureDefinition, ...]:
    """The definitions under mappings/measures/, read once (they are checked at start; a change needs a restart)."""
    return tuple(load_definitions())


def financial_allowed(principal: Principal) -> bool:
    return principal.is_developer or "indicators-financial" in principal.role.operations


def definitions(principal: Principal, known: Sequence[MeasureDefinition]) -> list[dict[str, Any]]:
    """The indicators the caller may see reports of, described."""
    return [
        {
            "id": d.id,
            "title": {"fr": d.title.fr, "en": d.title.en},
            "description": {"fr": d.description.fr, "en": d.description.en},
            "scoring": d.scoring,
            "improvement": d.improvement,
            "unit": d.unit,
            "audience": list(d.audience),
        }
        for d in known
        if "coordinator" in d.audience or financial_allowed(principal)
    ]


# -- what the caller receives ------------------------------------------------------------------------------------------
def _visible(principal: Principal, stored: StoredResource) -> bool:
    return principal.visibility.allows(stored.tenant)


def released(
    conn: Connection,
    release: ReportRelease,
    principal: Principal,
    found: list[StoredResource],
) -> list[dict[str, Any]]:
    """The reports of ``found`` the caller may receive, as it receives them."""
    out = []
    shown = release.release(conn, principal, [s for s in found if _visible(principal, s)])
    for stored in shown:
        report = stored.json()
        if audience(report) != "shared" and not financial_allowed(principal):
            continue
        out.append(report)
    return out


def _population_key_list(populations: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, int] = defaultdict(int)
    keys = []
    for population in populations:
        codings = (population.get("code") or {}).get("coding") or [{}]
        code = str(codings[0].get("code", ""))
        seen[code] += 1
        keys.append(code if seen[code] == 1 else f"{code}-{seen[code]}")
    return keys


def _decimal(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    text = f"{value:.6f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    return text.replace(".", ",")


def _concept_text(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    codings = concept.get("coding") or [{}]
    return str(codings[0].get("display") or codings[0].get("code") or "")


@dataclass(frozen=True)
class Centre:
    finess: str
    name: str


def centre_names(conn: Connection, release: ReportRelease, reports: list[dict[str, Any]]) -> dict[str, Centre]:
    """Each report's subject as a centre: FINESS and name (the Organization's, else the subject's display)."""
    refs = {}
    for report in reports:
        subject = report.get("subject") or {}
        reference = subject.get("reference")
        if isinstance(reference, str) and reference.startswith("Organization/"):
            refs[reference] = reference.removeprefix("Organization/")
    found = release.store.read_many(conn, [("Organization", i) for i in refs.values()])
    out: dict[str, Centre] = {}
    for report in reports:
        key = "cpts" if is_cpts_wide(report) else (centre_of(report) or "")
        subject = report.get("subject") or {}
        name = str(subject.get("display") or ("CPTS" if key == "cpts" else key))
        organization = found.get(("Organization", refs.get(str(subject.get("reference")), "")))
        if organization is not None:
            name = str(organization.json().get("name") or name)
        out[key] = Centre("" if key == "cpts" else key, name)
    return out


def _rows(report: dict[str, Any], centre: Centre, label: str) -> list[list[str]]:
    period = period_of(report)
    start, end = (period[0].isoformat(), period[1].isoformat()) if period else ("", "")
    head = [label, start, end, centre.finess, centre.name, indicator_of(report)]
    rows = []
    for group in report.get("group") or []:
        parts: list[tuple[str, str, dict[str, Any]]] = [("", "", group)]
        for stratifier in group.get("stratifier") or []:
            codes = stratifier.get("code") or [{}]
            for stratum in stratifier.get("stratum") or []:
                parts.append((_concept_text(codes[0]), _concept_text(stratum.get("value")), stratum))
        for stratifier_text, stratum_text, owner in parts:
            populations = owner.get("population") or []
            cells = dict.fromkeys(POPULATIONS, "")
            masked = False
            for key, population in zip(_population_key_list(populations), populations, strict=True):
                masked = masked or is_masked(population)
                if key in cells:
                    cells[key] = _decimal(population.get("count"))
            score = owner.get("measureScore") or {}
            group_text = str(group.get("id") or _concept_text(group.get("code")))
            where = [group_text, stratifier_text, stratum_text]
            tail = [_decimal(score.get("value")), str(score.get("unit") or ""), "oui" if masked else "non"]
            rows.append([*head, *where, *cells.values(), *tail])
    return rows


def export_csv(
    conn: Connection, release: ReportRelease, principal: Principal, start: date, end: date, label: str
) -> bytes:
    """The CSV of every report of the period the caller receives: centres by FINESS, then the CPTS."""
    found = find_reports(conn, release.store, measure=None, start=start, end=end)
    reports = released(conn, release, principal, found)
    names = centre_names(conn, release, reports)

    def order(report: dict[str, Any]) -> tuple[int, str, str]:
        cpts = is_cpts_wide(report)
        return (1 if cpts else 0, "" if cpts else centre_of(report) or "", indicator_of(report))

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(HEADER)
    for report in sorted(reports, key=order):
        key = "cpts" if is_cpts_wide(report) else (centre_of(report) or "")
        writer.writerows(_rows(report, names[key], label))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# -- series ------------------------------------------------------------------------------------------------------------
def _point(month: str, report: dict[str, Any] | None) -> dict[str, Any]:
    point: dict[str, Any] = {"month": month, "value": None, "numerator": None, "denominator": None, "masked": False}
    groups = (report or {}).get("group") or []
    if not groups:
        return point
    group = groups[0]
    populations = group.get("population") or []
    for key, population in zip(_population_key_list(populations), populations, strict=True):
        if is_masked(population):
            point["masked"] = True
        elif key in ("numerator", "denominator") and isinstance(population.get("count"), int):
            point[key] = population["count"]
    score = group.get("measureScore") or {}
    if not point["masked"] and isinstance(score.get("value"), int | float):
        point["value"] = score["value"]
    if point["masked"]:
        point["value"] = None
    return point


def series(
    conn: Connection,
    release: ReportRelease,
    principal: Principal,
    definition: MeasureDefinition,
    first: str,
    last: str,
) -> dict[str, Any]:
    """The monthly series of one indicator (contract C2), masked as the caller receives it."""
    wanted = months(first, last)
    if "coordinator" not in definition.audience and not financial_allowed(principal):
        raise Forbidden(
            f"{definition.id} is a centre-only indicator: {principal.role.name} does not receive it",
            expression="parameter:measure",
            code="SEC-INDICATOR-AUDIENCE",
        )
    start = date.fromisoformat(f"{wanted[0]}-01")
    _, end = month_bounds(wanted[-1], "parameter:to")
    found = find_reports(conn, release.store, measure=MEASURE_PREFIX + definition.id, start=start, end=end, exact=False)
    monthly = []
    for stored in found:
        period = period_of(stored.json())
        if period is not None and is_month(*period):
            monthly.append(stored)
    reports = released(conn, release, principal, monthly)
    names = centre_names(conn, release, reports)
    by_subject: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for report in reports:
        period = period_of(report)
        assert period is not None
        key = "cpts" if is_cpts_wide(report) else (centre_of(report) or "")
        by_subject[key][period[0].isoformat()[:7]] = report
    centres = sorted(k for k in by_subject if k != "cpts")
    return {
        "measure": definition.id,
        "title": {"fr": definition.title.fr, "en": definition.title.en},
        "unit": definition.unit,
        "months": wanted,
        "cpts": [_point(m, by_subject.get("cpts", {}).get(m)) for m in wanted],
        "centres": [
            {
                "finess": finess,
                "name": names[finess].name,
                "points": [_point(m, by_subject[finess].get(m)) for m in wanted],
            }
            for finess in centres
        ],
    }


def definition_named(
    known: Sequence[MeasureDefinition], name: str, where: str = "parameter:measure"
) -> MeasureDefinition:
    """The definition of ``IND-NOSHOW`` (or ``ind-noshow``, or the Measure canonical)."""
    wanted = name.strip().removeprefix(MEASURE_PREFIX).upper()
    for d in known:
        if d.id == wanted:
            return d
    raise NotFound(f"{where}: no indicator {name!r} (known: {', '.join(d.id for d in known)})", expression=where)


__all__ = [
    "HEADER",
    "definition_named",
    "definitions",
    "export_csv",
    "financial_allowed",
    "known_definitions",
    "released",
    "series",
]
