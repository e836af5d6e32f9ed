"""Moving every envelope to the active data key after a rotation (``cpts-gateway keys reencrypt``).

Resources, their history and raw ingest payloads are walked in key order, one transaction per batch, so the work
can stop at any point and run again: rows already under the active key are skipped. A resource row is rewritten only
if it is still the version that was read (a concurrent write wins; it seals with the active key anyway). Resources
and payloads stored before sealing existed are sealed on the way, and the search indexes of protected types are
rebuilt once at the end when any was, so no plaintext stays in the index tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Engine, select, tuple_, update

from gateway.ingest.jobs import MESSAGE, message_aad
from gateway.storage.db import read_transaction, write_transaction
from gateway.storage.store import RESOURCE, VERSION, ResourceStore
from security.crypto import TEXT_PREFIX, bytes_kid
from security.protect import PROTECTED_TYPES, Protector

Progress = Callable[[str, Counter[str]], None]


class Rewrapper:
    """Rewraps the envelopes of one database to the protector's active key."""

    def __init__(self, engine: Engine, store: ResourceStore, protector: Protector, batch: int = 500) -> None:
        self.engine, self.store, self.protector, self.batch = engine, store, protector, max(1, batch)

    def _mark(self) -> str:
        return f'"_sealed":"{TEXT_PREFIX}{self.protector.cipher.active_kid}.'

    def _resealed(self, resource_type: str, resource_id: str, content: str) -> tuple[str, str] | None:
        """(new content, what happened) or None when the row is already under the active key."""
        if self._mark() in content:
            return None
        sealed_before = '"_sealed":"' in content
        plain = self.protector.open(resource_type, resource_id, content)
        fresh = self.protector.seal(resource_type, resource_id, orjson.loads(plain))
        if fresh == content:
            return None  # nothing to protect in it
        return fresh, "rewrapped" if sealed_before else "sealed"

    def resources(self, progress: Progress | None = None) -> Counter[str]:
        counts: Counter[str] = Counter()
        last = 0
        while True:
            with read_transaction(self.engine) as conn:
                rows = conn.execute(
                    select(RESOURCE.c.rid, RESOURCE.c.res_type, RESOURCE.c.res_id, RESOURCE.c.version_id,
                           RESOURCE.c.content)
                    .where(RESOURCE.c.res_type.in_(sorted(PROTECTED_TYPES)), RESOURCE.c.rid > last)
                    .order_by(RESOURCE.c.rid)
                    .limit(self.batch)
                ).all()  # fmt: skip
            if not rows:
                return counts
            last = rows[-1].rid
            with write_transaction(self.engine) as conn:
                for row in rows:
                    change = self._resealed(row.res_type, row.res_id, row.content)
                    if change is None:
                        counts["unchanged"] += 1
                        continue
                    done = conn.execute(
                        update(RESOURCE)
                        .where(RESOURCE.c.rid == row.rid, RESOURCE.c.version_id == row.version_id)
                        .values(content=change[0])
                    )
                    counts[change[1] if done.rowcount else "changed meanwhile"] += 1
            if progress:
                progress("resources", counts)

    def versions(self, progress: Progress | None = None) -> Counter[str]:
        counts: Counter[str] = Counter()
        key = (VERSION.c.res_type, VERSION.c.res_id, VERSION.c.version_id)
        last: tuple[Any, ...] | None = None
        while True:
            query = select(*key, VERSION.c.content).where(VERSION.c.res_type.in_(sorted(PROTECTED_TYPES)))
            if last is not None:
                query = query.where(tuple_(*key) > tuple_(*last))
            with read_transaction(self.engine) as conn:
                rows = conn.execute(query.order_by(*key).limit(self.batch)).all()
            if not rows:
                return counts
            last = tuple(rows[-1][:3])
            with write_transaction(self.engine) as conn:
                for row in rows:
                    change = self._resealed(row.res_type, row.res_id, row.content)
                    if change is None:
                        counts["unchanged"] += 1
                        continue
                    conn.execute(
                        update(VERSION)
                        .where(*(column == value for column, value in zip(key, row[:3], strict=True)))
                        .values(content=change[0])
                    )
                    counts[change[1]] += 1
            if progress:
                progress("versions", counts)

    def payloads(self, progress: Progress | None = None) -> Counter[str]:
        """Raw ingest payloads (large: a few per transaction)."""
        counts: Counter[str] = Counter()
        cipher = self.protector.cipher
        last = ""
        size = max(1, self.batch // 50)
        while True:
            with read_transaction(self.engine) as conn:
                ids = list(
                    conn.execute(
                        select(MESSAGE.c.id).where(MESSAGE.c.id > last).order_by(MESSAGE.c.id).limit(size)
                    ).scalars()
                )
            if not ids:
                return counts
            last = ids[-1]
            with write_transaction(self.engine) as conn:
                for message_id, content in conn.execute(
                    select(MESSAGE.c.id, MESSAGE.c.content).where(MESSAGE.c.id.in_(ids))
                ):
                    data = bytes(content)
                    kid = bytes_kid(data)
                    if kid == cipher.active_kid:
                        counts["unchanged"] += 1
                        continue
                    plain = cipher.open_bytes(data, message_aad(message_id)) if kid is not None else data
                    fresh = cipher.seal_bytes(plain, message_aad(message_id))
                    conn.execute(update(MESSAGE).where(MESSAGE.c.id == message_id).values(content=fresh))
                    counts["rewrapped" if kid is not None else "sealed"] += 1
            if progress:
                progress("payloads", counts)

    def run(self, progress: Progress | None = None) -> dict[str, Counter[str]]:
        """Rewrap everything; rebuild the protected types' indexes if clear resources were sealed."""
        self.protector.cipher.refresh()
        done = {"resources": self.resources(progress), "versions": self.versions(progress)}
        done["payloads"] = self.payloads(progress)
        if done["resources"]["sealed"]:
            with write_transaction(self.engine) as conn:
                done["reindexed"] = Counter({"resources": self.store.reindex(conn, sorted(PROTECTED_TYPES))})
        return done


__all__ = ["Rewrapper"]
