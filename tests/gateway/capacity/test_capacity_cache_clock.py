"""A kept ``$capacity`` summary (gateway/capacity/summary_cache.py) holds only while the clock has not passed a day's
first free slot, and only for requests no older than it: otherwise the summary is computed again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine, select

from gateway.capacity.snp_summary import CapacitySummary, snp_capacity
from gateway.capacity.summary_cache import SummaryCache
from gateway.settings import Settings
from gateway.storage.db import read_transaction, write_transaction
from gateway.storage.directory_version import DIRECTORY_VERSION, directory_stamp, slot_counter, slot_stamp
from gateway.storage.store import build_store
from tests.security.identities import CENTRE_A, Identities

R314 = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
ZONE = ZoneInfo("Europe/Paris")
START, END = datetime(2030, 3, 10, 23), datetime(2030, 3, 11, 23)  # Monday 2030-03-11 in Paris, naive UTC


def put_slot(http: httpx.Client, sid: str, hour: str) -> None:
    slot = {
        "resourceType": "Slot",
        "id": sid,
        "meta": {"security": [{"system": R314, "code": "SNP"}]},
        "schedule": {"reference": "Schedule/s"},
        "status": "free",
        "start": f"2030-03-11T{hour}:00:00Z",
        "end": f"2030-03-11T{hour}:15:00Z",
    }
    assert http.put(f"/fhir/Slot/{sid}", json=slot).status_code in (200, 201)


@pytest.fixture
def two_free(ids: Identities, engine: Engine) -> Engine:
    centre = ids.centre(CENTRE_A)
    put_slot(centre, "c8", "08")
    put_slot(centre, "c9", "09")
    return engine


def test_a_kept_summary_is_computed_again_once_its_first_free_slot_is_behind(two_free: Engine) -> None:
    cache, computed = SummaryCache(), []

    def ask(now: datetime) -> CapacitySummary:
        with read_transaction(two_free) as conn:

            def compute() -> CapacitySummary:
                computed.append(now)
                return snp_capacity(conn, start=START, end=END, zone=ZONE, now=now, tenants=None)

            return cache.summary(conn, ("monday",), now, compute)

    def first_free(summary: CapacitySummary) -> datetime | None:
        return summary.days[(CENTRE_A, datetime(2030, 3, 11).date())].first_free

    assert first_free(ask(datetime(2030, 3, 11, 7))) == datetime(2030, 3, 11, 8)
    assert first_free(ask(datetime(2030, 3, 11, 8))) == datetime(2030, 3, 11, 8)  # kept: 08:00 is not behind yet
    assert len(computed) == 1
    assert first_free(ask(datetime(2030, 3, 11, 8, 30))) == datetime(2030, 3, 11, 9)  # computed again
    assert first_free(ask(datetime(2030, 3, 11, 7))) == datetime(2030, 3, 11, 8)  # older than the kept one: again
    assert len(computed) == 3


def test_the_slot_counter_moves_with_every_slot_write(ids: Identities, engine: Engine) -> None:
    with read_transaction(engine) as conn:
        before = slot_stamp(conn)
        centre_before = conn.execute(select(DIRECTORY_VERSION.c.version).where(
            DIRECTORY_VERSION.c.res_type == slot_counter(CENTRE_A))).scalar() or 0  # fmt: skip
    centre = ids.centre(CENTRE_A)
    put_slot(centre, "c10", "10")
    put_slot(centre, "c10", "11")
    with read_transaction(engine) as conn:
        assert slot_stamp(conn) == before + 2  # the centre's own counter (its row created by its first write)
        counters = {row.res_type: row.version for row in conn.execute(select(DIRECTORY_VERSION))}
    assert counters[slot_counter(CENTRE_A)] == centre_before + 2 and slot_counter(CENTRE_A) == f"Slot:{CENTRE_A}"


def asking(engine: Engine, cache: SummaryCache, computed: list[str]) -> Callable[[str], None]:
    """Ask ``cache`` for the summary kept under a key; the keys it had to compute are appended to ``computed``."""
    now = datetime(2030, 3, 11, 7)

    def ask(key: str) -> None:
        with read_transaction(engine) as conn:

            def compute() -> CapacitySummary:
                computed.append(key)
                return snp_capacity(conn, start=START, end=END, zone=ZONE, now=now, tenants=None)

            cache.summary(conn, (key,), now, compute)

    return ask


def test_the_least_recently_used_summary_goes_first_when_the_cache_is_full(two_free: Engine) -> None:
    computed: list[str] = []
    ask = asking(two_free, SummaryCache(max_entries=2), computed)
    for key in ("a", "b", "a", "c", "a", "b"):  # c pushes b out (a was used since); b comes back computed
        ask(key)
    assert computed == ["a", "b", "c", "b"]


def test_the_cache_keeps_a_bounded_number_of_rows(two_free: Engine) -> None:
    computed: list[str] = []
    ask = asking(two_free, SummaryCache(max_days=1), computed)  # each summary here has one row: centre A's Monday
    for key in ("a", "a", "b", "a"):  # b's row pushes a's out
        ask(key)
    assert computed == ["a", "b", "a"]


def test_a_reindex_moves_the_counters(two_free: Engine, settings: Settings) -> None:
    """``cpts-gateway reindex`` rebuilds ``search_slot``: what servers computed from it is stale."""
    with read_transaction(two_free) as conn:
        before = slot_stamp(conn), directory_stamp(conn)
    with write_transaction(two_free) as conn:
        build_store(two_free, settings).reindex(conn, ["Slot"])
    with read_transaction(two_free) as conn:
        assert slot_stamp(conn) == before[0] + 1 and directory_stamp(conn) == before[1]
    with write_transaction(two_free) as conn:
        build_store(two_free, settings).reindex(conn)
    with read_transaction(two_free) as conn:
        assert slot_stamp(conn) == before[0] + 2
        assert all(now == then + 1 for now, then in zip(directory_stamp(conn), before[1], strict=True))
