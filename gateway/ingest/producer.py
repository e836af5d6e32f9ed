"""The read-map-validate half of a job as a stream of events, in this process or in a second one.

Reading, mapping and validating a record needs no database, so a large payload is prepared by a worker process
while this process writes the previous batch: on two cores the job takes about as long as the longer of the two
halves instead of their sum. Events, in order:

- ``("refused", issue)``: the payload cannot be read at all (then nothing else but ``facts``);
- ``("batch", [(seq, Prepared), ...])``: records after the job's cursor, mapped and validated;
- ``("tail", issue, seq)``: the rest of the payload cannot be read (records before it were sent);
- ``("facts", facts, unused)``: what reading told (encoding, delimiter, unused columns) and unused fields.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from adapters.errors import AdapterError
from gateway.ingest.prepare import Prepared, adapter_issue, prepare
from gateway.ingest.records import ReadSummary, read_records
from gateway.parent import on_parent_exit
from mappings.catalog import ROOT, Catalog, default_catalog, load_catalog
from mappings.registry import MapContext

Event = tuple[Any, ...]
_END = "end"
_CRASH = "crash"


@dataclass(frozen=True)
class Work:
    """Everything a producer needs (plain values, so it can be sent to another process)."""

    payload: bytes
    format: str
    source: str
    tenant: str
    zone: str
    export: str | None
    vendor: str | None
    cursor: int
    batch_size: int
    model_pass: bool
    catalog_root: str


def count_unused(item: Prepared, unused: Counter[str]) -> None:
    """Count the source fields a record carried that its mapping never reads (a segment when none of it is)."""
    if item.mapping is None or not item.record.present:
        return
    used = item.mapping.used_fields()
    segments = {name.split("-")[0] for name in used}
    reported: set[str] = set()
    for name in item.record.present:
        segment = name.split("-")[0]
        if name in used:
            continue
        label = name if segment in segments else segment
        if label not in reported:
            reported.add(label)
            unused[label] += 1


def events(work: Work, catalog: Catalog) -> Iterator[Event]:
    """Prepare a payload's records in batches (in this process)."""
    summary = ReadSummary()
    zone = ZoneInfo(work.zone)
    try:
        records = read_records(
            work.payload, format=work.format, source=work.source, catalog=catalog, zone=zone,
            export=work.export, vendor=work.vendor, tenant=work.tenant, summary=summary,
        )  # fmt: skip
    except AdapterError as error:
        yield ("refused", adapter_issue(error))
        yield ("facts", summary.facts, {})
        return
    ctx = MapContext(tenant=work.tenant, zone=zone)
    unused: Counter[str] = Counter()
    batch: list[tuple[int, Prepared]] = []
    seq = 0
    try:
        for seq, record in enumerate(records, start=1):
            if seq <= work.cursor:
                continue
            item = prepare(record, catalog, ctx, model_pass=work.model_pass, mentions=False)
            count_unused(item, unused)
            batch.append((seq, item.detach()))
            if len(batch) >= work.batch_size:
                yield ("batch", batch)
                batch = []
    except AdapterError as error:  # the rest cannot be read (e.g. a quote that never closes)
        if batch:
            yield ("batch", batch)
            batch = []
        yield ("tail", adapter_issue(error), seq + 1)
    if batch:
        yield ("batch", batch)
    yield ("facts", summary.facts, dict(unused))


def _produce(work: Work, queue: Any) -> None:
    """Worker process: prepare and send the events, then an end marker (or the crash it met)."""
    on_parent_exit(lambda: os._exit(1))  # a killed server: the job resumes from its cursor after a restart
    try:
        root = Path(work.catalog_root)
        catalog = default_catalog() if root == ROOT else load_catalog(root)
        for event in events(work, catalog):
            queue.put(event)
    except Exception:  # a bug: the job stays leased and is tried again later; the trace says where
        queue.put((_CRASH, traceback.format_exc()))
        return
    queue.put((_END,))


class ProducerCrashed(RuntimeError):
    """The preparing process failed (a bug, or out of memory)."""


def parallel_events(work: Work) -> Iterator[Event]:
    """The same events, prepared by a second process (a few batches ahead, no more)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue(maxsize=4)
    worker = context.Process(target=_produce, args=(work, queue), daemon=True, name="ingest-prepare")
    worker.start()
    try:
        while True:
            event = queue.get()
            if event[0] == _END:
                return
            if event[0] == _CRASH:
                raise ProducerCrashed(event[1])
            yield event
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join(timeout=10)
        queue.close()
        queue.join_thread()


__all__ = ["Event", "ProducerCrashed", "Work", "count_unused", "events", "parallel_events"]
