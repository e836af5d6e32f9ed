"""``POST /fhir/Measure/{id}/$evaluate-measure`` (FHIR R4 operation, summary reports only).

Parameters (query string or a ``Parameters`` body): ``periodStart`` and ``periodEnd`` (FHIR dates: ``2026``,
``2026-07`` or ``2026-07-01``; the start is the first day they name, the end the last), ``subject``
(``Organization/<id>`` of a centre; optional) and ``reportType`` (``summary``, or R4's ``population``). A missing or
bad parameter is a 400 whose location names it.

Who: roles with the ``indicators`` operation; a centre-only indicator also needs ``indicators-financial``. Without a
subject, a coordinator computes every centre and the CPTS and receives the CPTS-wide report; a centre role computes and
receives its own centre's. With a subject: that centre only (a centre role: its own only). Everything computed is
stored; the answer is masked as the caller's view of reports says (gateway/indicators/release.py).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine

from gateway.errors import Forbidden, InvalidRequest, NotFound
from gateway.indicators.definitions import MeasureDefinition
from gateway.indicators.evaluation import compute, parse_period
from gateway.indicators.exports import financial_allowed
from gateway.indicators.release import ReportRelease, view_of
from gateway.indicators.reports import FINESS_SYSTEM
from gateway.settings import Settings
from gateway.storage.db import read_transaction
from security.principal import Principal

PARAMETERS = ("periodStart", "periodEnd", "subject", "reportType")
REPORT_TYPES = ("summary", "population")
_DATE = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01]))?)?$")


@dataclass(frozen=True)
class EvaluateRequest:
    start: date
    end: date
    subject: str | None  # Organization id


def _bad(name: str, text: str) -> InvalidRequest:
    return InvalidRequest(f"{name}: {text}", expression=f"parameter:{name}", code="API-OPERATION-PARAM")


def _date(name: str, value: str, *, last: bool) -> date:
    match = _DATE.match(value.strip())
    if match is None:
        raise _bad(name, f"{value!r} is not a FHIR date such as 2026-07-01, 2026-07 or 2026")
    year, month, day = int(match.group(1)), match.group(2), match.group(3)
    if not 1900 <= year <= 2199:
        raise _bad(name, "the year must be between 1900 and 2199")
    m = int(month) if month else (12 if last else 1)
    d = int(day) if day else (calendar.monthrange(year, m)[1] if last else 1)
    try:
        return date(year, m, d)
    except ValueError:
        raise _bad(name, f"{value!r} is not a day of the calendar") from None


def body_pairs(body: Any) -> list[tuple[str, str]]:
    """The parameters of a ``Parameters`` resource body, as (name, value text)."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise InvalidRequest(
            "the body must be a Parameters resource", expression="Parameters", code="API-OPERATION-PARAM"
        )
    pairs = []
    for i, parameter in enumerate(body.get("parameter") or []):
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            raise InvalidRequest("a parameter needs a name", expression=f"Parameters.parameter[{i}]")
        value = next((v for k, v in parameter.items() if k.startswith("value")), None)
        if isinstance(value, dict):
            value = value.get("reference")
        if not isinstance(value, str):
            raise InvalidRequest(
                f"{parameter['name']}: a value (valueDate, valueString, valueCode, valueReference) is expected",
                expression=f"Parameters.parameter[{i}]",
                code="API-OPERATION-PARAM",
            )
        pairs.append((parameter["name"], value))
    return pairs


def parse_request(pairs: list[tuple[str, str]]) -> EvaluateRequest:
    given: dict[str, str] = {}
    for name, value in pairs:
        if name not in PARAMETERS:
            raise _bad(name, f"not a parameter of $evaluate-measure ({', '.join(PARAMETERS)})")
        if name in given:
            raise _bad(name, "given twice")
        given[name] = value
    for name in ("periodStart", "periodEnd"):
        if not given.get(name, "").strip():
            raise _bad(name, "is required")
    start = _date("periodStart", given["periodStart"], last=False)
    end = _date("periodEnd", given["periodEnd"], last=True)
    if end < start:
        raise _bad("periodEnd", "is before periodStart")
    report_type = given.get("reportType", "summary")
    if report_type not in REPORT_TYPES:
        raise _bad("reportType", f"only summary reports are produced ({', '.join(REPORT_TYPES)}), not {report_type!r}")
    subject = given.get("subject")
    if subject is not None:
        match = re.match(r"^Organization/([A-Za-z0-9\-.]{1,64})$", subject.strip())
        if match is None:
            raise _bad("subject", f"{subject!r} is not a centre reference such as Organization/<id>")
        subject = match.group(1)
    return EvaluateRequest(start, end, subject)


def _finess(engine: Engine, release: ReportRelease, principal: Principal, organization_id: str) -> str:
    with read_transaction(engine) as conn:
        stored = release.store.read(conn, "Organization", organization_id)
    if stored is None or stored.deleted:
        raise NotFound(f"subject: Organization/{organization_id} is not known", expression="parameter:subject")
    if not principal.visibility.allows(stored.tenant):
        raise Forbidden(
            f"subject: Organization/{organization_id} is another centre's", expression="parameter:subject",
            code="SEC-TENANT",
        )  # fmt: skip
    found = [
        str(i["value"])
        for i in stored.json().get("identifier") or []
        if isinstance(i, dict) and i.get("system") == FINESS_SYSTEM and i.get("value")
    ]
    if not found:
        raise _bad("subject", f"Organization/{organization_id} has no FINESS identifier: it is not a centre")
    if view_of(principal) == "own" and principal.tenant not in found:
        raise Forbidden(
            "subject: a centre computes its own indicators only", expression="parameter:subject", code="SEC-TENANT"
        )
    return found[0]


def evaluate_measure(
    engine: Engine,
    settings: Settings,
    release: ReportRelease,
    principal: Principal,
    definition: MeasureDefinition,
    request: EvaluateRequest,
) -> dict[str, Any]:
    """Compute, store, and return the report the caller asked for, as the caller receives it."""
    principal.require_operation("indicators")
    if "coordinator" not in definition.audience and not financial_allowed(principal):
        raise Forbidden(
            f"{definition.id} is a centre-only indicator: {principal.role.name} does not receive it",
            expression="Measure",
            code="SEC-INDICATOR-AUDIENCE",
        )
    view = view_of(principal)
    if request.subject is not None:
        tenants: list[str] | None = [_finess(engine, release, principal, request.subject)]
    elif view == "own":
        if principal.tenant is None:
            raise Forbidden("a caller without a centre computes no centre's indicators", expression="Measure")
        tenants = [principal.tenant]
    else:
        tenants = None
    period = parse_period(f"{request.start.isoformat()}/{request.end.isoformat()}")
    outcomes = compute(engine, settings, period=period, measures=[definition.id], tenants=tenants, cpts=tenants is None)
    wanted = [o for o in outcomes if (o.subject == "cpts") == (tenants is None) and o.outcome != "skipped"]
    if tenants is not None:
        wanted = [o for o in wanted if o.subject == tenants[0]]
    if not wanted:
        raise NotFound(f"no report of {definition.id} for this subject and period", expression="parameter:subject")
    report = wanted[0].report
    with read_transaction(engine) as conn:
        return release.shown(conn, principal, report)


__all__ = ["EvaluateRequest", "body_pairs", "evaluate_measure", "parse_request"]
