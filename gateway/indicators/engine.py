"""The indicator engine: the twelve indicators of ``mappings/measures/`` computed over a period, as unmasked summary
MeasureReports, one per centre and one for the whole CPTS (the sum of the centres' tallies).

Volumes are aggregated in SQL over compact derived rows: the daily rollups (gateway/indicators/rollups.py, refreshed
first) for slots and no-shows, ``search_slot`` and ``fact_appointment`` for the rest; stratum values come from the
directory resources, read once. The same data always gives the same JSON apart from ``date``.
Masking, storage, routes and exports build on the reports returned here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from gateway.errors import InvalidRequest
from gateway.fhir.dates import utc_now
from gateway.indicators.activity import compute_ccam, compute_claims, compute_pickup
from gateway.indicators.appointments import compute_mt, compute_noshow
from gateway.indicators.context import Context, tenants_in_scope
from gateway.indicators.definitions import MeasureDefinition, load_definitions
from gateway.indicators.pathways import compute_pathway
from gateway.indicators.period import Period, parse_period
from gateway.indicators.report import CPTS_SUBJECT, centre_subject, render
from gateway.indicators.rollups import refresh
from gateway.indicators.sites import compute_opening
from gateway.indicators.slots import compute_slot_measures, compute_third_next
from gateway.indicators.tally import Tally, merged, new_tally
from gateway.settings import Settings

Tallies = dict[str, dict[str, Tally]]  # indicator id -> centre -> tally
# Each family computes one or more indicators in one pass; the engine runs only the families it needs.
FAMILIES: tuple[tuple[tuple[str, ...], Callable[[Context], Tallies]], ...] = (
    (("IND-OCCUPANCY", "IND-SNP-OFFER", "IND-SNP-USE"), compute_slot_measures),
    (("IND-THIRD-NEXT",), lambda ctx: {"IND-THIRD-NEXT": compute_third_next(ctx)}),
    (("IND-NOSHOW",), lambda ctx: {"IND-NOSHOW": compute_noshow(ctx)}),
    (("IND-MT",), lambda ctx: {"IND-MT": compute_mt(ctx)}),
    (("IND-PICKUP",), lambda ctx: {"IND-PICKUP": compute_pickup(ctx)}),
    (("IND-CCAM",), lambda ctx: {"IND-CCAM": compute_ccam(ctx)}),
    (("IND-REJECT", "IND-UNPAID"), compute_claims),
    (("IND-OPENING",), lambda ctx: {"IND-OPENING": compute_opening(ctx)}),
    (("IND-PATHWAY",), lambda ctx: {"IND-PATHWAY": compute_pathway(ctx)}),
)


@lru_cache(maxsize=1)
def _definitions() -> dict[str, MeasureDefinition]:
    return {definition.id: definition for definition in load_definitions()}


def _wanted(measures: Sequence[str] | None) -> list[MeasureDefinition]:
    known = _definitions()
    if measures is None:
        return [known[key] for key in sorted(known)]
    chosen = []
    for measure in dict.fromkeys(measures):
        key = measure.upper()
        if key not in known:
            raise InvalidRequest(
                f"unknown indicator '{measure}'; known: {', '.join(sorted(known))}", expression="measure", code="IND-ID"
            )
        chosen.append(known[key])
    return sorted(chosen, key=lambda definition: definition.id)


def evaluate(
    session: Session,
    settings: Settings,
    *,
    period: Period,
    measures: Sequence[str] | None = None,
    tenants: Sequence[str] | None = None,
    cpts: bool = True,
) -> list[dict[str, Any]]:
    """Unmasked summary MeasureReports of ``measures`` (None: all twelve) for ``tenants`` (None: every centre holding
    data) over ``period``, plus one CPTS-wide report per measure when ``cpts``; sorted by measure, then subject (the
    centres by FINESS, the CPTS last)."""
    definitions = _wanted(measures)
    bind = session.get_bind()
    refresh(bind.engine if isinstance(bind, Connection) else bind, settings.tz)  # committed before this session reads
    conn = session.connection()
    zone = settings.tz
    generated = utc_now()
    today = generated.astimezone(zone).date()  # utc_now() is aware
    shown = tenants_in_scope(conn, tenants)
    # The CPTS-wide report covers every centre, whichever centres' own reports are asked for.
    everyone = cpts or tenants is None
    ctx = Context(conn, zone, period, today, tenants_in_scope(conn, None) if everyone else shown, everyone)
    ctx.load_directory()
    wanted = {definition.id for definition in definitions}
    computed: Tallies = {}
    for ids, family in FAMILIES:
        if wanted.intersection(ids):
            computed.update(family(ctx))
    reports = []
    for definition in definitions:
        groups = [group.key for group in definition.groups]
        per_centre = computed[definition.id]
        for tenant in shown:
            organization, _ = ctx.organization(tenant)
            subject = centre_subject(organization, tenant)
            tally = per_centre.get(tenant) or new_tally(groups)  # a centre holding nothing: zero counts, no score
            reports.append(render(definition, period, subject, tenant, tally, ctx.labels, generated))
        if cpts:
            total = merged((per_centre[t] for t in ctx.tenants), groups)
            reports.append(render(definition, period, dict(CPTS_SUBJECT), "cpts", total, ctx.labels, generated))
    return reports


__all__ = ["Period", "evaluate", "parse_period"]
