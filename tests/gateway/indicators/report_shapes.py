"""MeasureReports shaped exactly as the indicator engine returns them (contract C1), for the reports tests."""

from __future__ import annotations

from typing import Any

from gateway.fhir.ids import deterministic_id

AUDIENCE = "urn:cpts-gateway:indicator-audience"
FINESS = "https://finess.esante.gouv.fr"
POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
STRATIFIER = "urn:cpts-gateway:measure-stratifier"
GROUP = "urn:cpts-gateway:measure-group"
PROFESSION = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
CENTRE_ONLY = ("IND-CCAM", "IND-REJECT", "IND-UNPAID")
GROUPS = {"IND-NOSHOW": "appointments", "IND-UNPAID": "amounts", "IND-MT": "active-patients"}
CODES = ("initial-population", "denominator", "denominator-exclusion", "numerator")


def populations(counts: dict[str, int]) -> list[dict[str, Any]]:
    return [{"code": {"coding": [{"system": POPULATION, "code": code}]}, "count": n} for code, n in counts.items()]


def score(counts: dict[str, int]) -> dict[str, Any] | None:
    den, num = counts.get("denominator", 0), counts.get("numerator", 0)
    return {"value": round(100 * num / den, 2), "unit": "%"} if den else None


def report(
    counts: dict[str, int],
    *,
    measure: str = "IND-NOSHOW",
    finess: str | None = None,
    organization: str | None = None,
    start: str = "2026-07-01",
    end: str = "2026-09-30",
    strata: dict[str, dict[str, int]] | None = None,
    generated: str = "2026-10-01T08:00:00+02:00",
) -> dict[str, Any]:
    """A summary report of ``measure`` for a centre (``finess``) or the CPTS (None); ``strata`` by profession code."""
    group: dict[str, Any] = {
        "id": GROUPS.get(measure, "main"),
        "code": {"coding": [{"system": GROUP, "code": f"{measure}.{GROUPS.get(measure, 'main')}"}]},
        "population": populations(counts),
    }
    if (s := score(counts)) is not None:
        group["measureScore"] = s
    if strata:
        stratum_list = []
        for code, numbers in strata.items():
            stratum: dict[str, Any] = {
                "value": {"coding": [{"system": PROFESSION, "code": code}], "text": code},
                "population": populations(numbers),
            }
            if (s := score(numbers)) is not None:
                stratum["measureScore"] = s
            stratum_list.append(stratum)
        group["stratifier"] = [
            {"code": [{"coding": [{"system": STRATIFIER, "code": "profession"}]}], "stratum": stratum_list}
        ]
    if finess is None:
        subject: dict[str, Any] = {
            "identifier": {"system": "urn:cpts-gateway:scope", "value": "cpts"},
            "display": "CPTS",
        }
    else:
        subject = {"reference": f"Organization/{organization}", "identifier": {"system": FINESS, "value": finess}}
    return {
        "resourceType": "MeasureReport",
        "id": deterministic_id("MeasureReport", measure, finess or "cpts", start, end),
        "meta": {"tag": [{"system": AUDIENCE, "code": "centre-only" if measure in CENTRE_ONLY else "shared"}]},
        "status": "complete",
        "type": "summary",
        "measure": f"urn:cpts-gateway:measure:{measure}",
        "subject": subject,
        "date": generated,
        "period": {"start": start, "end": end},
        "group": [group],
    }


def cell(report_json: dict[str, Any], code: str, stratum: str | None = None) -> int | str | None:
    """A population's count; "masked" when masked; None when absent."""
    group = report_json["group"][0]
    owner = group
    if stratum is not None:
        owner = next(s for s in group["stratifier"][0]["stratum"] if s["value"]["text"] == stratum)
    for population in owner["population"]:
        if population["code"]["coding"][0]["code"] == code:
            extensions = population.get("extension") or []
            if any(e["valueCode"] == "masked" for e in extensions):
                assert "count" not in population
                return "masked"
            count: int = population["count"]
            return count
    return None
