"""The background rollup refresh of an API process: marks a write leaves are consumed without any computation."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine, func, select

from gateway.indicators.worker import RollupWorker
from gateway.settings import Settings
from gateway.storage.rollup_marks import MARK, SLOT_DAY
from gateway.storage.store import WriteItem, build_store
from tests.gateway.indicators.test_rollups import CENTRES, slot


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_the_worker_refreshes_the_rollups_in_the_background(settings: Settings, clean_db: Engine) -> None:
    store = build_store(clean_db, settings)
    store.bulk_upsert([WriteItem("Slot", "s-a", slot("s-a", 0, 8, 30, "free", True), tenant=CENTRES[0])])

    async def run() -> int:
        worker = RollupWorker(clean_db, settings.tz, every_seconds=0.05)
        worker.start()
        for _ in range(200):  # the build, then the marks of a second write
            await asyncio.sleep(0.05)
            if worker.passes >= 1 and _count(clean_db, SLOT_DAY) == 1:
                break
        store.bulk_upsert([WriteItem("Slot", "s-b", slot("s-b", 1, 8, 30, "free", True), tenant=CENTRES[0])])
        for _ in range(200):
            await asyncio.sleep(0.05)
            if _count(clean_db, MARK) == 0:
                break
        await worker.stop()
        return worker.passes

    assert asyncio.run(run()) >= 2
    assert _count(clean_db, SLOT_DAY) == 2 and _count(clean_db, MARK) == 0
