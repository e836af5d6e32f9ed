"""Appointment indicators: IND-NOSHOW (a GROUP BY over the period's daily appointment rollups) and IND-MT (patients
seen in the last 24 months, from the ``fact_appointment`` rows, and their médecin traitant from the Patient and
CareTeam resources).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, select

from gateway.indicators.context import Context, Json
from gateway.indicators.period import local_midnight
from gateway.indicators.slots import FACT
from gateway.indicators.tally import Tally, new_tally
from gateway.storage.rollup_marks import APPT_DAY

OUTCOME_KNOWN = ("fulfilled", "noshow")
PCP_ROLE = "PCP"


def _noshow_rows(ctx: Context) -> list[Any]:
    """Appointments starting in the period grouped by their strata, status and whether their Slot was withdrawn: one
    GROUP BY over the period's daily rollups (gateway/indicators/rollups.py)."""
    r = APPT_DAY
    keys = (r.c.tenant, r.c.status, r.c.practitioner_id, r.c.role_id, r.c.specialty, r.c.service_type, r.c.withdrawn)
    where = and_(r.c.day >= ctx.period.start, r.c.day <= ctx.period.end, ctx.in_scope(r.c.tenant))
    query = select(*keys, func.sum(r.c.appointments).label("n")).where(where).group_by(*keys)
    rows = [(*row[:6], bool(row.withdrawn), int(row.n)) for row in ctx.conn.execute(query)]
    return sorted(rows, key=lambda r: tuple("" if v is None else str(v) for v in r))


def compute_noshow(ctx: Context) -> dict[str, Tally]:
    tallies = {t: new_tally(["appointments"]) for t in ctx.tenants}
    for tenant, status, practitioner, role, specialty, service, withdrawn, n in _noshow_rows(ctx):
        if tenant not in tallies:
            continue
        role_id = role or ctx.role_by_practitioner.get((tenant, practitioner or ""))
        strata = {
            "centre": ctx.centre(tenant),
            "profession": ctx.profession(role_id),
            "specialty": ctx.specialty(specialty),
            "service-type": ctx.service_type(service),
        }
        known = n if status in OUTCOME_KNOWN else 0
        excluded = n if withdrawn else 0  # in the denominator, then excluded: out of the numerator too
        noshow = n if status == "noshow" and not withdrawn else 0
        counts = {"initial-population": n, "denominator": known, "denominator-exclusion": excluded, "numerator": noshow}
        tallies[tenant]["appointments"].add(strata, counts)
    return tallies


def _months_before(day: date, months: int) -> date:
    month = day.month - 1 - months
    year, month = day.year + month // 12, month % 12 + 1
    while True:
        try:
            return date(year, month, day.day)
        except ValueError:
            day = day - timedelta(days=1)


def _seen_patients(ctx: Context) -> set[tuple[str, str]]:
    """(centre, patient id) with a fulfilled Appointment in the 24 months ending with the period."""
    since = local_midnight(_months_before(ctx.period.end + timedelta(days=1), 24), ctx.zone)
    a = FACT
    query = (
        select(a.c.tenant, a.c.patient_id)
        .where(a.c.status == "fulfilled", a.c.low >= since, a.c.low < ctx.high, ctx.in_scope(a.c.tenant))
        .distinct()
    )
    return {(row.tenant, row.patient_id) for row in ctx.conn.execute(query) if row.patient_id and row.tenant}


def _pcp_patients(ctx: Context) -> set[tuple[str, str]]:
    """(centre, patient id) named by an active CareTeam with a PCP participant whose period has not ended."""
    found: set[tuple[str, str]] = set()
    for tenant, team in ctx.resources("CareTeam", None):
        subject = team.get("subject")
        reference = subject.get("reference") if isinstance(subject, dict) else None
        if team.get("status") != "active" or not isinstance(reference, str) or not reference.startswith("Patient/"):
            continue
        for participant in team.get("participant") or []:
            roles = [c.get("code") for r in participant.get("role") or [] for c in r.get("coding") or []]
            end = (participant.get("period") or {}).get("end")
            if PCP_ROLE in roles and (not isinstance(end, str) or end[:10] >= ctx.period.end.isoformat()):
                found.add((tenant, reference.split("/", 1)[1]))
    return found


def _excluded(patient: Json) -> bool:
    deceased = patient.get("deceasedBoolean") is True or isinstance(patient.get("deceasedDateTime"), str)
    links = patient.get("link") or []
    return deceased or any(isinstance(link, dict) and link.get("type") == "replaced-by" for link in links)


def compute_mt(ctx: Context) -> dict[str, Tally]:
    tallies = {t: new_tally(["active-patients"]) for t in ctx.tenants}
    seen, pcp = _seen_patients(ctx), _pcp_patients(ctx)
    found: Counter[tuple[str, bool, bool]] = Counter()  # centre, excluded, with a GP -> patients
    for tenant, patient in ctx.resources("Patient", None):
        key = (tenant, str(patient.get("id")))
        if patient.get("active") is True and key in seen:
            found[(tenant, _excluded(patient), bool(patient.get("generalPractitioner")) or key in pcp)] += 1
    for (tenant, excluded, has_gp), n in sorted(found.items()):
        counts = {
            "initial-population": n,
            "denominator": n,
            "denominator-exclusion": n * excluded,
            "numerator": n * (has_gp and not excluded),
        }
        if tenant in tallies:
            tallies[tenant]["active-patients"].add({"centre": ctx.centre(tenant)}, counts)
    return tallies


__all__ = ["compute_mt", "compute_noshow"]
