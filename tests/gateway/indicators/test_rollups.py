"""The indicators' daily rollups: whatever the writes and whenever the refreshes, the rollups after a refresh are those
a build from scratch gives, and the reports computed over them do not change."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.orm import Session

from gateway.indicators.engine import evaluate, parse_period
from gateway.indicators.rollups import EVERY_CENTRE, refresh
from gateway.settings import Settings
from gateway.storage.db import write_transaction
from gateway.storage.models import INDEX_TABLES
from gateway.storage.rollup_marks import APPT_DAY, MARK, SLOT_DAY, STATE, forget_rollups
from gateway.storage.store import RESOURCE, VERSION, WriteItem, build_store

CENTRES = ("350000014", "750000013")
SLOT_TYPES = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
FIRST_DAY = date(2026, 10, 24)  # the 25th is the day the clocks go back
SLOT_STATUSES = ("free", "busy", "busy-unavailable", "entered-in-error")
APPOINTMENT_STATUSES = ("booked", "fulfilled", "noshow", "cancelled", "entered-in-error")


def slot(ident: str, day: int, hour: int, minutes: int, status: str, snp: bool) -> dict[str, Any]:
    start = FIRST_DAY + timedelta(days=day)
    end_hour, end_minute = divmod(hour * 60 + minutes, 60)
    end_day, end_hour = start + timedelta(days=end_hour // 24), end_hour % 24
    resource: dict[str, Any] = {
        "resourceType": "Slot",
        "id": ident,
        "schedule": {"reference": f"Schedule/sch-{ident[-1]}"},
        "status": status,
        "start": f"{start}T{hour:02d}:00:00",
        "end": f"{end_day}T{end_hour:02d}:{end_minute:02d}:00",
        "serviceType": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}]}],
    }
    if snp:
        resource["meta"] = {"security": [{"system": SLOT_TYPES, "code": "SNP"}]}
    return resource


def appointment(ident: str, day: int, hour: int, status: str, slot_id: str | None, room: str | None) -> dict[str, Any]:
    start = FIRST_DAY + timedelta(days=day)
    participants = [{"actor": {"reference": "Patient/p1"}}, {"actor": {"reference": "Practitioner/pr1"}}]
    if room:
        participants.append({"actor": {"reference": f"Location/{room}"}})
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": ident,
        "status": status,
        "start": f"{start}T{hour:02d}:15:00",
        "minutesDuration": 20,
        "participant": participants,
    }
    if slot_id:
        resource["slot"] = [{"reference": f"Slot/{slot_id}"}]
    return resource


SLOT_IDS = ("s-a", "s-b", "s-c")
slots = st.builds(
    lambda ident, day, hour, minutes, status, snp: ("Slot", ident, slot(ident, day, hour, minutes, status, snp)),
    st.sampled_from(SLOT_IDS),
    st.integers(0, 3),
    st.sampled_from([8, 23]),  # 23:00 + 90 minutes runs past midnight
    st.sampled_from([30, 90]),
    st.sampled_from(SLOT_STATUSES),
    st.booleans(),
)
appointments = st.builds(
    lambda ident, day, hour, status, slot_id, room: (
        "Appointment",
        ident,
        appointment(ident, day, hour, status, slot_id, room),
    ),
    st.sampled_from(("a-1", "a-2", "a-3")),
    st.integers(0, 3),
    st.sampled_from([8, 23]),
    st.sampled_from(APPOINTMENT_STATUSES),
    st.sampled_from((*SLOT_IDS, None)),
    st.sampled_from(("room-1", "room-2", None)),
)
deletions = st.builds(
    lambda kind, ident: (kind, ident, None),
    st.sampled_from(("Slot", "Appointment")),
    st.sampled_from((*SLOT_IDS, "a-1", "a-2")),
)
steps = st.lists(
    st.tuples(st.one_of(slots, appointments, deletions), st.sampled_from(CENTRES), st.booleans()),
    min_size=1,
    max_size=12,
)


def _wipe(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        forget_rollups(conn)
        for table in (RESOURCE, VERSION, *(model.__table__ for model in INDEX_TABLES)):  # type: ignore[attr-defined]
            conn.execute(delete(table))


def _rollups(engine: Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Both rollups summed by key (one key may be split over rows written at different times)."""
    with engine.connect() as conn:
        slot_keys = [c for c in SLOT_DAY.c if c.name not in ("pk", "slots", "minutes", "overflow")]
        appt_keys = [c for c in APPT_DAY.c if c.name not in ("pk", "appointments")]
        sums = (func.sum(SLOT_DAY.c.slots), func.sum(SLOT_DAY.c.minutes), func.sum(SLOT_DAY.c.overflow))
        slot_rows = conn.execute(select(*slot_keys, *sums).group_by(*slot_keys)).all()
        appt_rows = conn.execute(select(*appt_keys, func.sum(APPT_DAY.c.appointments)).group_by(*appt_keys)).all()

    def order(rows: list[Any]) -> list[tuple[Any, ...]]:
        return sorted((tuple(row) for row in rows), key=lambda r: tuple("" if v is None else str(v) for v in r))

    return order(slot_rows), order(appt_rows)


@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps)
def test_refreshed_rollups_are_those_built_from_scratch(
    settings: Settings, engine: Engine, plan: list[tuple[tuple[str, str, Any], str, bool]]
) -> None:
    _wipe(engine)
    store = build_store(engine, settings)
    refresh(engine, settings.tz)
    for (kind, ident, resource), tenant, refresh_now in plan:
        store.bulk_upsert([WriteItem(kind, ident, resource, tenant=tenant)])
        if refresh_now:
            refresh(engine, settings.tz)
    assert not refresh(engine, settings.tz).rebuilt
    incremental = _rollups(engine)
    with write_transaction(engine) as conn:
        forget_rollups(conn)
    assert refresh(engine, settings.tz).rebuilt
    assert _rollups(engine) == incremental
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(MARK)).scalar_one() == 0


def _day_marks(engine: Engine) -> set[tuple[str | None, date]]:
    with engine.connect() as conn:
        return {(row.tenant, row.day) for row in conn.execute(select(MARK.c.tenant, MARK.c.day))}


def test_a_write_marks_the_days_of_the_other_type_it_changes(settings: Settings, clean_db: Engine) -> None:
    store = build_store(clean_db, settings)
    refresh(clean_db, settings.tz)
    store.bulk_upsert([WriteItem("Slot", "s-a", slot("s-a", 0, 8, 30, "busy", False), tenant=CENTRES[0])])
    refresh(clean_db, settings.tz)
    # An Appointment on the 26th filling a Slot of the 24th: both days, each in its own centre.
    booking = appointment("a-1", 2, 8, "booked", "s-a", None)
    store.bulk_upsert([WriteItem("Appointment", "a-1", booking, tenant=CENTRES[1])])
    assert _day_marks(clean_db) == {(CENTRES[1], date(2026, 10, 26)), (CENTRES[0], date(2026, 10, 24))}
    refresh(clean_db, settings.tz)
    # The Slot withdrawn: its day, and the day of the Appointment naming it (the no-show rate leaves it out).
    store.bulk_upsert([WriteItem("Slot", "s-a", slot("s-a", 0, 8, 30, "busy-unavailable", False), tenant=CENTRES[0])])
    assert _day_marks(clean_db) == {(CENTRES[0], date(2026, 10, 24)), (CENTRES[1], date(2026, 10, 26))}
    refresh(clean_db, settings.tz)
    # Moved to another day without a Slot, then deleted: the days it leaves are marked too.
    store.bulk_upsert([WriteItem("Appointment", "a-1", appointment("a-1", 3, 8, "booked", None, None))])
    moved = {(CENTRES[1], date(2026, 10, 26)), (CENTRES[1], date(2026, 10, 27)), (CENTRES[0], date(2026, 10, 24))}
    assert _day_marks(clean_db) == moved
    refresh(clean_db, settings.tz)
    store.bulk_upsert([WriteItem("Appointment", "a-1", None)])
    assert _day_marks(clean_db) == {(CENTRES[1], date(2026, 10, 27))}


def test_a_booking_counts_on_the_next_computation(settings: Settings, clean_db: Engine) -> None:
    store = build_store(clean_db, settings)
    store.bulk_upsert([WriteItem("Slot", "s-a", slot("s-a", 1, 8, 30, "busy", True), tenant=CENTRES[0])])
    period = parse_period("2026-10")

    def booked_minutes() -> float:
        with Session(clean_db) as session:
            reports = evaluate(session, settings, period=period, measures=["IND-OCCUPANCY"], tenants=[CENTRES[0]])
        populations = {p["id"]: p for p in reports[0]["group"][0]["population"]}
        return float(populations["numerator"]["count"])

    assert booked_minutes() == 0  # busy, but no Appointment fills it
    booking = appointment("a-1", 1, 8, "booked", "s-a", "room-1")
    store.bulk_upsert([WriteItem("Appointment", "a-1", booking, tenant=CENTRES[0])])
    assert booked_minutes() == 1
    cancelled = appointment("a-1", 1, 8, "cancelled", "s-a", "room-1")
    store.bulk_upsert([WriteItem("Appointment", "a-1", cancelled, tenant=CENTRES[0])])
    assert booked_minutes() == 0


def test_marks_written_while_a_refresh_reads_stay_for_the_next_one(settings: Settings, clean_db: Engine) -> None:
    """A refresh deletes the marks it read, by key: a mark it did not read (a write committed meanwhile) stays."""
    store = build_store(clean_db, settings)
    store.bulk_upsert([WriteItem("Slot", "s-a", slot("s-a", 0, 8, 30, "free", False), tenant=CENTRES[0])])
    assert refresh(clean_db, settings.tz).rebuilt
    with write_transaction(clean_db) as conn:
        conn.execute(insert(MARK), [{"tenant": EVERY_CENTRE, "day": date(2026, 10, 24)}])
    assert refresh(clean_db, settings.tz).days == 1
    assert _day_marks(clean_db) == set()


def test_reindex_and_another_time_zone_rebuild_them(settings: Settings, clean_db: Engine) -> None:
    store = build_store(clean_db, settings)
    store.bulk_upsert([WriteItem("Slot", "s-a", slot("s-a", 0, 23, 90, "free", False), tenant=CENTRES[0])])
    refresh(clean_db, settings.tz)
    with clean_db.connect() as conn:
        assert conn.execute(select(SLOT_DAY.c.day, SLOT_DAY.c.overflow)).all() == [(date(2026, 10, 24), 30)]
    with write_transaction(clean_db) as conn:
        store.reindex(conn)
        assert conn.execute(select(func.count()).select_from(STATE)).scalar_one() == 0
    assert refresh(clean_db, settings.tz).rebuilt
    reunion = Settings(**{**settings.model_dump(), "timezone": "Indian/Reunion"})  # UTC+4: 23:00 Paris is the 25th
    assert refresh(clean_db, reunion.tz).rebuilt
    with clean_db.connect() as conn:
        assert conn.execute(select(SLOT_DAY.c.day, SLOT_DAY.c.overflow)).all() == [(date(2026, 10, 25), 0)]


def test_slots_differing_only_in_their_other_slot_types_all_count(settings: Settings, clean_db: Engine) -> None:
    """One agenda's SNP slots typed SNP alone and SNP + CPTS fall in one group: both count (the engine before the
    rollups kept only one of the two, so the demo's SNP offer read 9,455 weekly minutes instead of 14,631)."""
    store = build_store(clean_db, settings)
    snp_only = slot("s-a", 1, 8, 30, "free", True)
    with_cpts = slot("s-a2", 1, 9, 30, "free", True)
    with_cpts["id"], with_cpts["schedule"] = "s-b", snp_only["schedule"]
    with_cpts["meta"]["security"].append({"system": SLOT_TYPES, "code": "CPTS"})
    store.bulk_upsert([WriteItem("Slot", r["id"], r, tenant=CENTRES[0]) for r in (snp_only, with_cpts)])
    with Session(clean_db) as session:
        reports = evaluate(session, settings, period=parse_period("2026-10"), measures=["IND-SNP-USE"], tenants=[])
    populations = {p["id"]: p["count"] for p in reports[0]["group"][0]["population"]}
    assert populations["initial-population"] == 2 and populations["denominator"] == 2  # 2 free SNP slots, 0 booked
