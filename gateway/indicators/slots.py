"""Slot indicators: IND-OCCUPANCY, IND-SNP-USE, IND-SNP-OFFER (one GROUP BY over the period's daily slot rollups)
and IND-THIRD-NEXT (the third next free routine slot of each agenda, one indexed seek per agenda).

A Slot is booked when its status is ``busy`` and an Appointment whose status is neither ``cancelled`` nor
``entered-in-error`` names it (``fact_appointment.slot_id``): a slot cancelled after booking and free again is not.
Minutes are clipped to the period: a slot starting on its last evening and ending after midnight counts up to midnight.
"""

from __future__ import annotations

from datetime import UTC, date

from sqlalchemy import Table, bindparam, case, func, select

from gateway.indicators.context import Context
from gateway.indicators.period import local_midnight
from gateway.indicators.tally import Tally, new_tally
from gateway.storage.models import AppointmentFactRow, SlotIndexRow
from gateway.storage.rollup_marks import SLOT_DAY
from gateway.storage.slot_rows import kind_condition, kind_pattern

SLOT: Table = SlotIndexRow.__table__  # type: ignore[attr-defined]
FACT: Table = AppointmentFactRow.__table__  # type: ignore[attr-defined]
OFFERED = frozenset({"free", "busy", "busy-tentative"})
WITHDRAWN = frozenset({"busy-unavailable", "entered-in-error"})
NOT_BOOKING = ("cancelled", "entered-in-error")
NO_ROOM = "-"
SNP_MARK = kind_pattern("SNP").strip("%")  # " SNP " in the kinds column

# (tenant, schedule, status, service type, specialty, snp, room or NO_ROOM when booked / None) -> [slots, minutes]
SlotKey = tuple[str, str | None, str | None, str | None, str | None, bool, str | None]


def slot_groups(ctx: Context) -> dict[SlotKey, list[int]]:
    """Slots starting in the period, grouped, the booked ones by room; minutes clipped at the period's end: one
    GROUP BY over the period's daily rollups (gateway/indicators/rollups.py), the last day's overflow taken off."""
    r = SLOT_DAY
    keys = (r.c.tenant, r.c.schedule_id, r.c.status, r.c.service_type, r.c.specialty, r.c.snp, r.c.room)
    overflow = func.sum(case((r.c.day == ctx.period.end, r.c.overflow), else_=0))
    query = (
        select(*keys, func.sum(r.c.slots).label("n"), func.sum(r.c.minutes).label("m"), overflow.label("o"))
        .where(r.c.day >= ctx.period.start, r.c.day <= ctx.period.end, ctx.in_scope(r.c.tenant))
        .group_by(*keys)
    )
    out: dict[SlotKey, list[int]] = {}
    for row in ctx.conn.execute(query):
        tenant, schedule, status, service, specialty, snp, room = row[:7]
        out[(tenant, schedule, status, service, specialty, bool(snp), room)] = [int(row.n), int(row.m) - int(row.o)]
    return out


def _counts(status: str | None, booked: bool, n: int) -> dict[str, int]:
    withdrawn = n if status in WITHDRAWN else 0
    return {"initial-population": n, "denominator": n, "denominator-exclusion": withdrawn, "numerator": n * booked}


def compute_slot_measures(ctx: Context) -> dict[str, dict[str, Tally]]:
    """IND-OCCUPANCY, IND-SNP-USE and IND-SNP-OFFER tallies per centre, from one pass over the slot groups."""
    occupancy = {t: new_tally(["slot-minutes"]) for t in ctx.tenants}
    use = {t: new_tally(["snp-slots"]) for t in ctx.tenants}
    offer = {t: new_tally(["weekly-minutes"]) for t in ctx.tenants}
    for (tenant, schedule, status, service, specialty, snp, room), (n, minutes) in sorted(
        slot_groups(ctx).items(), key=lambda item: tuple("" if v is None else str(v) for v in item[0])
    ):
        if tenant not in occupancy:
            continue  # a CPTS-level slot (no centre)
        _, role_id, _ = ctx.schedules.get(schedule or "", (None, None, False))
        booked = status == "busy" and room is not None
        offered = status in OFFERED
        centre, profession, service_key = ctx.centre(tenant), ctx.profession(role_id), ctx.service_type(service)
        occupancy[tenant]["slot-minutes"].add(
            {
                "centre": centre,
                "practitioner-role": ctx.role(role_id),
                "room": ctx.room(None if room in (None, NO_ROOM) else room),
                "profession": profession,
                "service-type": service_key,
            },
            {**_counts(status, booked, n), "measure-observation": n * offered, "measure-observation-2": n * booked},
            {"measure-observation": minutes * offered, "measure-observation-2": minutes * booked},
        )
        if not snp:
            continue
        strata = {"centre": centre, "profession": profession, "service-type": service_key}
        use[tenant]["snp-slots"].add({**strata, "specialty": ctx.specialty(specialty)}, _counts(status, booked, n))
        offer[tenant]["weekly-minutes"].add(
            strata,
            {
                "initial-population": n,
                "measure-population": n * offered,
                "measure-population-exclusion": n if status in WITHDRAWN else 0,
                "measure-observation": n * offered,
            },
            {"measure-observation": minutes * offered},
        )
    return {"IND-OCCUPANCY": occupancy, "IND-SNP-USE": use, "IND-SNP-OFFER": offer}


def reference_day(ctx: Context) -> date:
    """THIRD-NEXT's reference day: the period's last day, or the day of the computation when earlier."""
    return min(ctx.period.end, ctx.today)


def compute_third_next(ctx: Context) -> dict[str, Tally]:
    """Per agenda: calendar days from the reference day to the start of its third free routine non-SNP slot (one
    indexed query per active agenda of the centres in scope: a few thousand in a region)."""
    day = reference_day(ctx)
    since = local_midnight(day, ctx.zone)
    s = SLOT  # per agenda, a seek in ix_slot_schedule (schedule, status, start) that stops at the third slot
    third_slot = (
        select(s.c.low)
        .where(
            s.c.schedule_id == bindparam("schedule"),
            s.c.status == "free",
            s.c.low >= since,
            s.c.appt_type == "ROUTINE",
            ~kind_condition(s.c.kinds, "SNP"),
        )
        .order_by(s.c.low, s.c.rid)
        .limit(1)
        .offset(2)
    )
    tallies = {t: new_tally(["schedules"]) for t in ctx.tenants}
    for schedule, (tenant, role_id, active) in sorted(ctx.schedules.items()):
        if tenant not in tallies or not active:
            continue
        strata = {"profession": ctx.profession(role_id), "specialty": ctx.role_specialty(role_id)}
        strata["centre"] = ctx.centre(tenant)
        low = ctx.conn.execute(third_slot, {"schedule": schedule}).scalar()
        if low is None:
            tallies[tenant]["schedules"].add(strata, {"initial-population": 1})
            continue
        local = low.replace(tzinfo=UTC).astimezone(ctx.zone).date()
        days = float((local - day).days)
        counts = {"initial-population": 1, "measure-population": 1, "measure-observation": 1}
        tallies[tenant]["schedules"].add(strata, counts, samples={"measure-observation": days})
    return tallies


__all__ = ["compute_slot_measures", "compute_third_next", "reference_day", "slot_groups"]
