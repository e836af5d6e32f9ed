"""The ``$capacity`` summaries this process computed, kept while no Slot was written.

A summary (gateway/capacity/snp_summary.py) depends on the Slots of its window and on the moment it was asked
(``firstFree`` is the first free slot *still ahead*). It is kept with the Slot write counter read in the request's
own transaction (gateway/storage/directory_version.py: the sum of the centres' counters, each bumped by every
write of one of its Slots in the writing transaction) and
given again while:

- the counter has not moved: no Slot was written since, so the counts are those the database would give;
- the clock has not passed any day's ``firstFree``: every free slot at or after the moment the summary was computed
  is at or after its day's ``firstFree``, so none has fallen behind ``now`` yet and the same query would give the
  same answer. A request older than the kept summary recomputes.

Per process (each worker keeps its own), bounded (:data:`MAX_ENTRIES` summaries and :data:`MAX_DAYS` rows in all,
least recently used first out), per database.
A kept summary also keeps its serialised answer per freshness (:func:`rendered`): the centres' freshness is read
afresh for every request, and the answer serialised again only when it differs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, tzinfo

import orjson
from sqlalchemy import Connection

from gateway.capacity.freshness import Freshness
from gateway.capacity.snp_summary import CapacitySummary, as_parameters
from gateway.storage.directory_version import slot_stamp

MAX_ENTRIES = 512
MAX_DAYS = 50_000  # (centre, day) rows of all kept summaries together: a summary of 31 days x 200 centres has 6,200
MAX_RENDERINGS = 2  # per summary: the freshness changes as syncs arrive and time passes


@dataclass(frozen=True, slots=True)
class _Kept:
    stamp: int
    computed_at: datetime  # naive UTC: the ``now`` the summary was computed with
    until: datetime | None  # the earliest firstFree: the summary holds for a ``now`` up to it

    def holds(self, stamp: int, now: datetime) -> bool:
        return stamp == self.stamp and self.computed_at <= now and (self.until is None or now <= self.until)


class SummaryCache:
    """``(database, window, centres, slot type) -> CapacitySummary``, checked against the Slot write counter."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_days: int = MAX_DAYS) -> None:
        self.max_entries = max_entries
        self.max_days = max_days
        self._kept: OrderedDict[Hashable, tuple[_Kept, CapacitySummary]] = OrderedDict()
        self._days = 0  # rows of the kept summaries
        self._lock = threading.Lock()

    def summary(
        self, conn: Connection, key: Hashable, now: datetime, compute: Callable[[], CapacitySummary]
    ) -> CapacitySummary:
        """The summary for ``key`` at ``now`` (naive UTC): the kept one if it still holds, else ``compute()``."""
        stamp = slot_stamp(conn)
        full_key = (str(conn.engine.url), key)
        with self._lock:
            found = self._kept.get(full_key)
            if found is not None and found[0].holds(stamp, now):
                self._kept.move_to_end(full_key)
                return found[1]
        fresh = compute()
        firsts = [day.first_free for day in fresh.days.values() if day.first_free is not None]
        kept = _Kept(stamp, now, min(firsts, default=None))
        if len(fresh.days) > self.max_days:
            return fresh
        with self._lock:
            replaced = self._kept.pop(full_key, None)
            if replaced is not None:
                self._days -= len(replaced[1].days)
            self._kept[full_key] = (kept, fresh)
            self._days += len(fresh.days)
            while len(self._kept) > self.max_entries or self._days > self.max_days:
                _, (_, dropped) = self._kept.popitem(last=False)
                self._days -= len(dropped.days)
        return fresh

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._days = 0


def rendered(summary: CapacitySummary, zone: tzinfo, freshness: Freshness) -> bytes:
    """The answer (FHIR ``Parameters``, serialised) of ``summary`` shown with ``freshness``."""
    key = (str(zone), tuple(sorted(freshness.items())))
    found = summary.renderings.get(key)
    if found is None:
        found = orjson.dumps(as_parameters(summary, zone, freshness))
        if len(summary.renderings) >= MAX_RENDERINGS:
            summary.renderings.clear()
        summary.renderings[key] = found
    return found


SUMMARIES = SummaryCache()

__all__ = ["MAX_ENTRIES", "MAX_RENDERINGS", "SUMMARIES", "SummaryCache", "rendered"]
