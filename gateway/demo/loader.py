"""Load the demo territory into the store: a worker process generates and validates, this process writes.

The two stages overlap on two cores, so seeding the default territory takes about as long as writing it.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson

from gateway.demo.generator import generate_territory
from gateway.demo.options import DemoOptions
from gateway.errors import ValidationFailed
from gateway.storage.store import ResourceStore, WriteItem

BATCH = 2000
_DONE = b""


class DemoInvalid(RuntimeError):
    """A generated resource failed validation (a bug in the generator)."""


def _produce(options: DemoOptions, validate: bool, queue: Any) -> None:
    """Worker: generate (and validate) the territory, sending batches of JSON bytes."""
    from gateway.fhir.validation import validate_resource

    batch: list[tuple[str | None, dict[str, Any]]] = []
    try:
        for tenant, resource in generate_territory(options):
            if validate:
                validate_resource(resource)
            batch.append((tenant, resource))
            if len(batch) >= BATCH:
                queue.put(orjson.dumps(batch))
                batch = []
        if batch:
            queue.put(orjson.dumps(batch))
    except ValidationFailed as exc:
        queue.put(orjson.dumps({"error": exc.diagnostics}))
    queue.put(_DONE)


def _batches(options: DemoOptions, validate: bool) -> Iterator[list[tuple[str | None, dict[str, Any]]]]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue(maxsize=8)
    worker = context.Process(target=_produce, args=(options, validate, queue), daemon=True)
    worker.start()
    try:
        while (chunk := queue.get()) != _DONE:
            data = orjson.loads(chunk)
            if isinstance(data, dict):
                raise DemoInvalid(str(data["error"]))
            yield [(tenant, resource) for tenant, resource in data]
    finally:
        worker.join(timeout=5)
        if worker.is_alive():
            worker.terminate()


def load_demo(store: ResourceStore, options: DemoOptions, *, validate: bool = True) -> Counter[str]:
    """Write the demo territory; returns the number of resources per type."""
    counts: Counter[str] = Counter()

    def items() -> Iterator[WriteItem]:
        for batch in _batches(options, validate):
            for tenant, resource in batch:
                counts[resource["resourceType"]] += 1
                yield WriteItem(resource["resourceType"], resource["id"], resource, tenant=tenant, method="PUT")

    store.bulk_upsert(items(), batch_size=BATCH)
    return counts


__all__ = ["DemoInvalid", "load_demo"]
