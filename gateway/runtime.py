"""Process-level tuning of a serving process, applied once it has started.

A FHIR server allocates many short-lived objects per request (parsed JSON, rows) while holding a large, long-lived
heap (the loaded application, the capacity directory). With CPython's default thresholds the cyclic collector runs
every 700 allocations and regularly walks the whole heap: on a SAS answer of 400 Slots this was half the request's
CPU. Objects alive after start-up are moved out of the collector's reach (``gc.freeze``) and collections are spaced
out; reference counting still frees everything that is not a cycle at once.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

from sqlalchemy import Engine

from gateway.capacity.directory import DIRECTORY
from gateway.storage.db import read_transaction

GC_THRESHOLDS = (10_000, 20, 20)


def warm_and_freeze(engine: Engine, *, freeze: bool, log: Callable[[str], None] | None = None) -> None:
    """Build the capacity directory now (not on the first request); then, in a serving process, freeze the heap.

    In-process servers (the tests start many applications in one process) keep the collector as it is: frozen
    objects are never collected, and an application stopped later would leave its cycles behind."""
    with read_transaction(engine) as conn:
        directory = DIRECTORY.current(conn)
    if not freeze:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    if log is not None:
        log(f"capacity directory: {len(directory.schedules)} schedules; start-up heap frozen")


__all__ = ["GC_THRESHOLDS", "warm_and_freeze"]
