"""Slot indicators: IND-OCCUPANCY, IND-SNP-USE, IND-SNP-OFFER (one GROUP BY over the period's ``search_slot`` rows)
and IND-THIRD-NEXT (the third next free routine slot of each agenda, one indexed seek per agenda).

A Slot is booked when its status is ``busy`` and an Appointment whose status is neither ``cancelled`` nor
``entered-in-error`` names it (``fact_appointment.slot_id``): a slot cancelled after booking and free again is not.
Minutes are clipped to the period: a slot starting on its last evening and ending after midnight counts up to midnight.
"""

from __future__ import annotations

from datetime import UTC, date

from sqlalchemy import Table, and_, bindparam, case, func, literal, select

from gateway.indicators.context import Context
from gateway.indicators.period import local_midnight
from gateway.indicators.tally import Tally, new_tally
from gateway.storage.models import AppointmentFactRow, SlotIndexRow
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


def _room_of_booking() -> object:
    """The room of the live Appointment filling a busy Slot (NO_ROOM without one); NULL when none fills it."""
    booked = (
        select(func.max(func.coalesce(FACT.c.location_id, literal(NO_ROOM))))
        .where(FACT.c.slot_id == SLOT.c.res_id, FACT.c.status.not_in(NOT_BOOKING))
        .scalar_subquery()
    )
    return case((SLOT.c.status == "busy", booked), else_=None)


Group = tuple[str, str | None, str | None, str | None, str | None, str]  # tenant .. kinds, as the SQL groups them


def slot_groups(ctx: Context) -> dict[SlotKey, list[int]]:
    """Slots starting in the period, grouped, the booked ones by room; minutes clipped at the period's end.

    Two aggregates: all slots (streamed through ``ix_slot_indicators``, in its key order, without a probe) and the
    busy ones with the room of the live Appointment filling them (one probe of ``ix_fact_appt_slot`` per busy slot).
    """
    s = SLOT
    room = _room_of_booking().label("room")  # type: ignore[attr-defined]
    keys = (s.c.tenant, s.c.schedule_id, s.c.status, s.c.service_type, s.c.specialty, s.c.kinds)
    where = and_(s.c.low >= ctx.low, s.c.low < ctx.high, ctx.in_scope(s.c.tenant))
    sums = (func.count().label("n"), func.coalesce(func.sum(s.c.minutes), 0).label("m"))
    totals: dict[Group, list[int]] = {}
    for row in ctx.conn.execute(select(*keys, *sums).where(where).group_by(*keys)):
        totals[tuple(row[:6])] = [int(row.n), int(row.m)]
    booked: dict[tuple[Group, str], list[int]] = {}
    busy = select(*keys, room, *sums).where(where, s.c.status == "busy").group_by(*keys, room)
    for row in ctx.conn.execute(busy):
        if row.room is not None:
            booked[(tuple(row[:6]), row.room)] = [int(row.n), int(row.m)]
    clipped = select(*keys, room, s.c.end_at).where(where, s.c.end_at > ctx.high, s.c.minutes.is_not(None))
    for row in ctx.conn.execute(clipped):
        excess = int((row.end_at - ctx.high).total_seconds() // 60)
        group: Group = tuple(row[:6])
        totals[group][1] -= excess
        if row.room is not None:
            booked[(group, row.room)][1] -= excess
    out: dict[SlotKey, list[int]] = {}
    for (group, where_booked), (n, minutes) in booked.items():
        out[(*group[:5], SNP_MARK in group[5], where_booked)] = [n, minutes]
        totals[group][0] -= n
        totals[group][1] -= minutes
    for group, (n, minutes) in totals.items():
        if n > 0:
            out[(*group[:5], SNP_MARK in group[5], None)] = [n, minutes]
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
