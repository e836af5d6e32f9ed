"""The versioned resource store: upserts with deterministic ids, history, soft delete, derived search indexes.

Writing content identical to the current version (ignoring ``meta.versionId`` and ``meta.lastUpdated``) creates no
new version. All writes of one call happen in the caller's transaction, so a transaction Bundle is all-or-nothing.

Resources of protected types (``security/protected.yaml``) are stored with their direct identifiers sealed and are
indexed through blind indexes (``security/protect.py``); every read gives back the resource exactly as written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Literal

import orjson
from sqlalchemy import Connection, Engine, Select, Table, bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from gateway.errors import Conflict, Forbidden, PreconditionFailed
from gateway.fhir.dates import format_instant, utc_now
from gateway.settings import Settings
from gateway.storage.db import write_transaction
from gateway.storage.directory_version import COUNTED_TYPES, bump_directory
from gateway.storage.fact_rows import APPOINTMENT_COLUMNS, SLOT_FACT_COLUMNS
from gateway.storage.indexer import index_resource
from gateway.storage.models import (
    AppointmentFactRow,
    DateIndexRow,
    NumberIndexRow,
    ReferenceIndexRow,
    ResourceRow,
    ResourceVersionRow,
    SlotIndexRow,
    StringIndexRow,
    TokenIndexRow,
)
from gateway.storage.rollup_marks import (
    ROLLUP_TYPES,
    FactRef,
    derived_refs,
    forget_rollups,
    mark,
    stale_days,
    stored_refs,
)
from security.crypto import DataKeysError
from security.protect import PROTECTED_TYPES, SEALED, Protector, installed, open_content, protector_for

RESOURCE: Table = ResourceRow.__table__  # type: ignore[attr-defined]
VERSION: Table = ResourceVersionRow.__table__  # type: ignore[attr-defined]
INDEX: dict[str, Table] = {
    "token": TokenIndexRow.__table__,  # type: ignore[attr-defined]
    "date": DateIndexRow.__table__,  # type: ignore[attr-defined]
    "reference": ReferenceIndexRow.__table__,  # type: ignore[attr-defined]
    "string": StringIndexRow.__table__,  # type: ignore[attr-defined]
    "number": NumberIndexRow.__table__,  # type: ignore[attr-defined]
    "slot": SlotIndexRow.__table__,  # type: ignore[attr-defined]
    "appointment": AppointmentFactRow.__table__,  # type: ignore[attr-defined]
}
INDEX_COLUMNS: dict[str, tuple[str, ...]] = {
    "token": ("param", "system", "code"),
    "date": ("param", "low", "high", "status"),
    "reference": ("param", "target_type", "target_id", "url"),
    "string": ("param", "value", "exact"),
    "number": ("param", "value", "system", "code"),
    "slot": ("schedule_id", "status", "low", "high", "kinds", "tenant", *SLOT_FACT_COLUMNS, "sas", "links", "codes"),
    "appointment": ("tenant", *APPOINTMENT_COLUMNS),
}
DATETIME_KINDS = frozenset({"date", "slot", "appointment"})
_CHUNK = 400
_CREATE_RACE_ATTEMPTS = 3
Outcome = Literal["created", "updated", "unchanged", "deleted", "absent"]
WriteObserver = Callable[[Connection, Sequence["StoredResource"]], None]


@dataclass(frozen=True)
class StoredResource:
    """One version of a resource as stored: its JSON text carries ``meta.versionId`` and ``meta.lastUpdated``."""

    resource_type: str
    id: str
    version_id: int
    last_updated: datetime  # naive UTC
    deleted: bool
    tenant: str | None
    content: str
    method: str | None = None
    content_hash: str | None = None  # of the current version; history rows do not carry it
    rid: int | None = None  # the compact key of the current row (index rows point at it)

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads(self.content)
        return data

    @property
    def etag(self) -> str:
        return f'W/"{self.version_id}"'

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"


@dataclass
class WriteItem:
    """One write: an upsert of ``resource`` (which has an ``id``) or a delete of ``resource_type/id``."""

    resource_type: str
    id: str
    resource: dict[str, Any] | None = None  # None means delete
    tenant: str | None = None
    if_match: int | None = None
    method: str = "PUT"
    owners: frozenset[str | None] | None = None  # tenants whose existing resources this write may replace (None: any)


@dataclass(frozen=True)
class WriteOutcome:
    outcome: Outcome
    stored: StoredResource | None


@dataclass
class _Plan:
    resource_inserts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    resource_updates: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    versions: list[dict[str, Any]] = field(default_factory=list)
    reindex: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)
    had_rows: set[tuple[str, str]] = field(default_factory=set)


def content_hash(resource: dict[str, Any]) -> str:
    """Hash of the content that matters: everything but ``meta.versionId`` and ``meta.lastUpdated``."""
    return hashlib.sha256(orjson.dumps(_without_version(resource), option=orjson.OPT_SORT_KEYS)).hexdigest()


def row_to_stored(row: Any, *, method: str | None = None, protector: Protector | None = None) -> StoredResource:
    """A resource row (current or history) as a StoredResource, its sealed elements opened (with ``protector``, or
    the process's installed one)."""
    return StoredResource(
        row.res_type,
        row.res_id,
        row.version_id,
        row.last_updated,
        row.deleted,
        row.tenant,
        open_content(row.res_type, row.res_id, row.content, protector),
        method,
        getattr(row, "content_hash", None),
        getattr(row, "rid", None),
    )


def build_store(engine: Engine, settings: Settings) -> ResourceStore:
    """The store with the settings' data keys: the one place the API, ingest and the command line get theirs;
    every write through it queues the notifications of the Subscriptions it matches (gateway/subscriptions/)."""
    from gateway.subscriptions.matcher import SubscriptionMatcher  # late: the matcher searches this store

    store = ResourceStore(engine, settings.tz, protector_for(settings))
    store.observers.append(SubscriptionMatcher(store, settings))
    return store


class ResourceStore:
    """Reads and writes resources on a connection the caller holds (one transaction per request).

    Without a ``protector`` the process's installed one is used (none installed: nothing is sealed).
    """

    def __init__(self, engine: Engine, zone: tzinfo, protector: Protector | None = None) -> None:
        self.engine = engine
        self.zone = zone
        self._protector = protector
        self.observers: list[WriteObserver] = []  # called after each write, in its transaction

    @property
    def protector(self) -> Protector | None:
        return self._protector if self._protector is not None else installed()

    def _stored(self, row: Any, *, method: str | None = None) -> StoredResource:
        return row_to_stored(row, method=method, protector=self.protector)

    def _digest(self, resource_type: str, resource: dict[str, Any]) -> str:
        """Content hash; keyed for protected types, so it is no unkeyed fingerprint of a patient's identity."""
        protector = self.protector
        if protector is None or not protector.protects(resource_type):
            return content_hash(resource)
        return protector.digest(orjson.dumps(_without_version(resource), option=orjson.OPT_SORT_KEYS))

    def _plain(self, resource_type: str, resource_id: str, resource: dict[str, Any]) -> dict[str, Any]:
        """A resource given back with its envelope (read raw from the table by another module) is opened first."""
        if SEALED not in resource:
            return resource
        protector = self.protector
        if protector is None:
            raise DataKeysError(f"{resource_type}/{resource_id} is sealed and no data keys are loaded in this process")
        return protector.open_data(resource_type, resource_id, resource)

    # -- reads -----------------------------------------------------------------------------------------------------
    def read(self, conn: Connection, resource_type: str, resource_id: str) -> StoredResource | None:
        row = conn.execute(
            select(RESOURCE).where(RESOURCE.c.res_type == resource_type, RESOURCE.c.res_id == resource_id)
        ).first()
        return self._stored(row) if row else None

    def referring(self, conn: Connection, resource_type: str, param: str, target: str) -> list[str]:
        """Ids of the live ``resource_type`` resources whose reference parameter ``param`` names ``target``
        (``Type/id``), in id order: one range of the reference index."""
        target_type, target_id = target.split("/", 1)
        ref = INDEX["reference"]
        rows = conn.execute(
            select(RESOURCE.c.res_id)
            .select_from(ref.join(RESOURCE, RESOURCE.c.rid == ref.c.rid))
            .where(
                ref.c.res_type == resource_type,
                ref.c.param == param,
                ref.c.target_type == target_type,
                ref.c.target_id == target_id,
                RESOURCE.c.deleted.is_(False),
            )
            .order_by(RESOURCE.c.res_id)
        ).all()
        return [row.res_id for row in rows]

    def read_many(self, conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredResource]:
        """Current, non-deleted versions of the given (type, id) keys."""
        found: dict[tuple[str, str], StoredResource] = {}
        for query in _by_type(keys):
            for row in conn.execute(query.where(RESOURCE.c.deleted.is_(False))):
                found[(row.res_type, row.res_id)] = self._stored(row)
        return found

    def vread(self, conn: Connection, resource_type: str, resource_id: str, version_id: int) -> StoredResource | None:
        row = conn.execute(
            select(VERSION).where(
                VERSION.c.res_type == resource_type,
                VERSION.c.res_id == resource_id,
                VERSION.c.version_id == version_id,
            )
        ).first()
        return self._stored(row, method=row.method) if row else None

    def history(
        self,
        conn: Connection,
        *,
        resource_type: str | None = None,
        resource_id: str | None = None,
        since: datetime | None = None,
        at: datetime | None = None,
        after: tuple[datetime, str, str, int] | None = None,
        limit: int = 50,
        tenants: Sequence[str | None] | None = None,
    ) -> list[StoredResource]:
        """Versions newest first; ``after`` is the (last_updated, type, id, version) of the previous page's last."""
        key = (VERSION.c.last_updated, VERSION.c.res_type, VERSION.c.res_id, VERSION.c.version_id)
        query = select(VERSION)
        if resource_type:
            query = query.where(VERSION.c.res_type == resource_type)
        if resource_id:
            query = query.where(VERSION.c.res_id == resource_id)
        if since is not None:
            query = query.where(VERSION.c.last_updated >= since)
        if at is not None:
            query = query.where(VERSION.c.last_updated <= at)
        if tenants is not None:
            owned = VERSION.c.tenant.in_([t for t in tenants if t is not None])
            query = query.where(owned | VERSION.c.tenant.is_(None) if None in tenants else owned)
        if after is not None:
            query = query.where(tuple_(*key) < tuple_(*after))
        query = query.order_by(*(column.desc() for column in key)).limit(limit)
        return [self._stored(row, method=row.method) for row in conn.execute(query)]

    def count_history(
        self, conn: Connection, *, resource_type: str | None = None, resource_id: str | None = None
    ) -> int:
        query = select(func.count()).select_from(VERSION)
        if resource_type:
            query = query.where(VERSION.c.res_type == resource_type)
        if resource_id:
            query = query.where(VERSION.c.res_id == resource_id)
        return int(conn.execute(query).scalar_one())

    # -- writes ----------------------------------------------------------------------------------------------------
    def write(self, conn: Connection, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        """Apply upserts and deletes in order, in the caller's transaction; returns one outcome per item.

        A create that loses a race with another transaction creating the same resource is planned again: the row
        then exists and is locked, so the write becomes an update (or changes nothing).
        """
        keys = {(i.resource_type, i.id) for i in items}
        for _attempt in range(_CREATE_RACE_ATTEMPTS):
            state = self._lock_current(conn, keys)
            plan = _Plan(had_rows=set(state))
            outcomes = [self._plan_item(item, state, plan) for item in items]
            if self._apply_unless_raced(conn, plan):
                self._observe(conn, outcomes)
                return outcomes
        raise Conflict("another transaction keeps creating the same resources; retry the request")

    def _observe(self, conn: Connection, outcomes: Sequence[WriteOutcome]) -> None:
        """Tell the observers (Subscription matching) what was created or updated, in the write's transaction."""
        if self.observers:
            written = [o.stored for o in outcomes if o.stored is not None and o.outcome in ("created", "updated")]
            for observer in self.observers:
                observer(conn, written)

    def _apply_unless_raced(self, conn: Connection, plan: _Plan) -> bool:
        """Apply the plan; False when, on PostgreSQL, another transaction committed one of its new rows first.

        ``SELECT ... FOR UPDATE`` cannot lock a row that does not exist yet, so new rows are inserted under a
        savepoint and a unique violation rolls back to it (SQLite writers are serialised by ``BEGIN IMMEDIATE``).
        """
        if conn.dialect.name != "postgresql" or not plan.resource_inserts:
            self._apply(conn, plan)
            return True
        try:
            with conn.begin_nested():
                self._apply(conn, plan)
        except IntegrityError:
            return False
        return True

    def _lock_current(self, conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], StoredResource]:
        state: dict[tuple[str, str], StoredResource] = {}
        for query in _by_type(sorted(keys)):
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            for row in conn.execute(query):  # kept sealed: opened only if a delete needs the content
                state[(row.res_type, row.res_id)] = StoredResource(
                    row.res_type, row.res_id, row.version_id, row.last_updated, row.deleted, row.tenant, row.content,
                    None, row.content_hash, row.rid,
                )  # fmt: skip
        return state

    def _plan_item(self, item: WriteItem, state: dict[tuple[str, str], StoredResource], plan: _Plan) -> WriteOutcome:
        key = (item.resource_type, item.id)
        current = state.get(key)
        if current is not None and item.owners is not None and current.tenant not in item.owners:
            if current.tenant is None:  # visible to all, owned by none: CPTS-level data a centre may not replace
                raise Forbidden(
                    f"{item.resource_type}/{item.id} is shared by the CPTS; a centre may not replace it",
                    expression=item.resource_type,
                    code="SEC-TENANT",
                )
            raise Forbidden(
                f"{item.resource_type}/{item.id} belongs to another centre: it may not be replaced or deleted",
                expression=item.resource_type,
                code="SEC-TENANT",
            )
        if item.if_match is not None and (current is None or current.deleted or current.version_id != item.if_match):
            have = "no current version" if current is None or current.deleted else f'version "{current.version_id}"'
            raise PreconditionFailed(
                f'If-Match W/"{item.if_match}" does not match {item.resource_type}/{item.id}: it has {have}',
                expression=f"{item.resource_type}.meta.versionId",
            )
        if item.resource is None:
            if current is None or current.deleted:
                return WriteOutcome("absent", current)
            previous = self._plain(item.resource_type, item.id, current.json())
            digest = self._digest(item.resource_type, previous)
            deletion = self._record(item, current, previous, digest, plan, state, deleted=True)
            return WriteOutcome("deleted", deletion)
        resource = self._plain(item.resource_type, item.id, item.resource)
        digest = self._digest(item.resource_type, resource)
        live = current is not None and not current.deleted
        if live and current is not None and digest == (current.content_hash or self._current_digest(current)):
            return WriteOutcome("unchanged", current)
        outcome: Outcome = "created" if current is None or current.deleted else "updated"
        return WriteOutcome(outcome, self._record(item, current, resource, digest, plan, state, deleted=False))

    def _current_digest(self, current: StoredResource) -> str:
        return self._digest(current.resource_type, self._plain(current.resource_type, current.id, current.json()))

    def _record(
        self,
        item: WriteItem,
        current: StoredResource | None,
        resource: dict[str, Any],
        digest: str,
        plan: _Plan,
        state: dict[tuple[str, str], StoredResource],
        *,
        deleted: bool,
    ) -> StoredResource:
        key = (item.resource_type, item.id)
        version = (current.version_id if current else 0) + 1
        now = utc_now()
        resource = {**resource, "id": item.id}
        resource["meta"] = {**resource.get("meta", {}), "versionId": str(version), "lastUpdated": format_instant(now)}
        content = orjson.dumps(resource).decode()
        sealed = content
        protector = self.protector
        if protector is not None and protector.protects(item.resource_type):
            sealed = protector.seal(item.resource_type, item.id, resource)
        tenant = item.tenant if item.tenant is not None else (current.tenant if current else None)
        naive = now.replace(tzinfo=None)
        row = {
            "res_type": item.resource_type,
            "res_id": item.id,
            "tenant": tenant,
            "version_id": version,
            "last_updated": naive,
            "deleted": deleted,
            "content_hash": digest,
            "content": sealed,
        }
        if key in plan.had_rows:
            plan.resource_updates[key] = row
        else:
            plan.resource_inserts[key] = row
        method = "DELETE" if deleted else item.method
        plan.versions.append({k: v for k, v in row.items() if k != "content_hash"} | {"method": method})
        plan.reindex[key] = None if deleted else resource
        rid = current.rid if current is not None else None
        if rid is not None:
            row["rid"] = rid
        stored = StoredResource(
            item.resource_type, item.id, version, naive, deleted, tenant, content, method, digest, rid
        )
        state[key] = stored
        return stored

    def _allocate_rids(self, conn: Connection, count: int) -> list[int]:
        """Keys for new rows: a sequence on PostgreSQL; on SQLite the writer holds the lock, so max + 1 is safe."""
        if conn.dialect.name == "postgresql":
            rows = conn.exec_driver_sql("SELECT nextval('resource_rid_seq') FROM generate_series(1, %s)", (count,))
            return [int(r[0]) for r in rows]
        first = int(conn.execute(select(func.coalesce(func.max(RESOURCE.c.rid), 0))).scalar_one()) + 1
        return list(range(first, first + count))

    def _apply(self, conn: Connection, plan: _Plan) -> None:
        if plan.resource_inserts:
            new_rows = list(plan.resource_inserts.values())
            for row, rid in zip(new_rows, self._allocate_rids(conn, len(new_rows)), strict=True):
                row["rid"] = rid
            conn.execute(insert(RESOURCE), new_rows)
        if plan.resource_updates:
            conn.execute(
                update(RESOURCE)
                .where(RESOURCE.c.res_type == _bind("b_type"), RESOURCE.c.res_id == _bind("b_id"))
                .values(
                    tenant=_bind("tenant"),
                    version_id=_bind("version_id"),
                    last_updated=_bind("last_updated"),
                    deleted=_bind("deleted"),
                    content_hash=_bind("content_hash"),
                    content=_bind("content"),
                ),
                [{**row, "b_type": row["res_type"], "b_id": row["res_id"]} for row in plan.resource_updates.values()],
            )
        if plan.versions:
            conn.execute(insert(VERSION), [{k: v for k, v in row.items() if k != "rid"} for row in plan.versions])
        rows = {**plan.resource_inserts, **plan.resource_updates}
        stale_keys = [key for key in plan.reindex if key in plan.had_rows]
        refs = stored_refs(conn, [rows[key]["rid"] for key in stale_keys if key[0] in ROLLUP_TYPES])
        self._delete_index_rows(conn, [rows[key]["rid"] for key in stale_keys])
        fresh = [
            ((key[0], rows[key]["rid"], rows[key]["tenant"]), resource)
            for key, resource in plan.reindex.items()
            if resource is not None
        ]
        refs += self._insert_index_rows(conn, fresh)
        if refs:  # the indicators' daily rollups of those days are now stale
            mark(conn, stale_days(conn, self.zone, refs))
        slot_centres = [rows[key]["tenant"] for key in plan.reindex if key[0] == "Slot"]
        bump_directory(conn, {key[0] for key in plan.reindex}, slot_centres)

    def _delete_index_rows(self, conn: Connection, rids: Sequence[int]) -> None:
        for start in range(0, len(rids), _CHUNK):
            chunk = list(rids[start : start + _CHUNK])
            for table in INDEX.values():
                conn.execute(delete(table).where(table.c.rid.in_(chunk)))

    def _insert_index_rows(
        self, conn: Connection, resources: Sequence[tuple[tuple[str, int, str | None], dict[str, Any]]]
    ) -> list[FactRef]:
        """Derive and insert index rows through the driver's executemany (the hot path of bulk loads); returns what
        the Slot and Appointment rows say of the indicators' rollups."""
        sqlite = conn.dialect.name == "sqlite"
        protector = self.protector
        batches: dict[str, list[tuple[Any, ...]]] = {kind: [] for kind in INDEX}
        refs: list[FactRef] = []
        for (res_type, rid, tenant), resource in resources:
            derived = index_resource(resource, self.zone)
            for slot in (*derived.slot, *derived.appointment):
                slot["tenant"] = tenant  # capacity searches and indicators filter by centre without the resource row
            if derived.slot or derived.appointment:
                refs += derived_refs(derived.slot, derived.appointment)
            if protector is not None and res_type in PROTECTED_TYPES:
                derived = protector.blind_rows(resource, derived)
            for kind, columns in INDEX_COLUMNS.items():
                target = batches[kind]
                for row in getattr(derived, kind):
                    values = [row[c] for c in columns]
                    if sqlite and kind in DATETIME_KINDS:
                        values = [_sqlite_datetime(v) for v in values]
                    target.append((res_type, rid, *values))
        marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        for kind, rows in batches.items():
            if rows:
                columns = ("res_type", "rid", *INDEX_COLUMNS[kind])
                placeholders = ", ".join([marker] * len(columns))
                sql = f"INSERT INTO {INDEX[kind].name} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
                conn.exec_driver_sql(sql, rows)
        return refs

    # -- bulk and maintenance ----------------------------------------------------------------------------------------
    def bulk_upsert(self, items: Iterable[WriteItem], *, batch_size: int = 2000) -> dict[Outcome, int]:
        """Upsert a stream of resources in batches, one transaction per batch; returns counts per outcome."""
        counts: dict[Outcome, int] = {}
        for batch in _batches(items, batch_size):
            with write_transaction(self.engine) as conn:
                for outcome in self.write(conn, batch):
                    counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
        return counts

    def reindex(self, conn: Connection, resource_types: Sequence[str] | None = None) -> int:
        """Rebuild the search indexes from the stored JSON; returns the number of resources indexed. The
        indicators' rollups are dropped with them, to be rebuilt by their next refresh."""
        forget_rollups(conn)
        for table in INDEX.values():
            wipe = delete(table)
            if resource_types:
                wipe = wipe.where(table.c.res_type.in_(resource_types))
            conn.execute(wipe)
        columns = (RESOURCE.c.res_type, RESOURCE.c.res_id, RESOURCE.c.rid, RESOURCE.c.tenant, RESOURCE.c.content)
        query = select(*columns).where(RESOURCE.c.deleted.is_(False))
        if resource_types:
            query = query.where(RESOURCE.c.res_type.in_(resource_types))
        total = 0
        pending: list[tuple[tuple[str, int, str | None], dict[str, Any]]] = []
        for row in conn.execute(query.order_by(RESOURCE.c.rid)).yield_per(1000):
            content = open_content(row.res_type, row.res_id, row.content, self.protector)
            pending.append(((row.res_type, row.rid, row.tenant), orjson.loads(content)))
            if len(pending) >= 1000:
                self._insert_index_rows(conn, pending)
                total += len(pending)
                pending = []
        self._insert_index_rows(conn, pending)
        bump_directory(conn, resource_types or COUNTED_TYPES)  # what processes keep from the indexes is stale
        return total + len(pending)

    def count(self, conn: Connection, resource_type: str | None = None) -> int:
        query = select(func.count()).select_from(RESOURCE).where(RESOURCE.c.deleted.is_(False))
        if resource_type:
            query = query.where(RESOURCE.c.res_type == resource_type)
        return int(conn.execute(query).scalar_one())


def _without_version(resource: dict[str, Any]) -> dict[str, Any]:
    meta = resource.get("meta")
    if isinstance(meta, dict) and ("versionId" in meta or "lastUpdated" in meta):
        rest = {k: v for k, v in meta.items() if k not in ("versionId", "lastUpdated")}
        resource = {k: v for k, v in resource.items() if k != "meta"}
        if rest:
            resource["meta"] = rest
    return resource


def _by_type(keys: Iterable[tuple[str, str]]) -> Iterator[Select[Any]]:
    """Queries for the resource rows of (type, id) keys, per type and in chunks, so each uses the primary key."""
    ids_by_type: dict[str, list[str]] = {}
    for resource_type, resource_id in dict.fromkeys(keys):
        ids_by_type.setdefault(resource_type, []).append(resource_id)
    for resource_type, ids in ids_by_type.items():
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            yield select(RESOURCE).where(RESOURCE.c.res_type == resource_type, RESOURCE.c.res_id.in_(chunk))


def _sqlite_datetime(value: Any) -> Any:
    """Datetimes as SQLAlchemy stores them in SQLite (fixed width, so text order is time order)."""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond:06d}"
    return value


def _bind(name: str) -> Any:
    return bindparam(name)


def _batches(items: Iterable[WriteItem], size: int) -> Iterator[list[WriteItem]]:
    batch: list[WriteItem] = []
    keys: set[tuple[str, str]] = set()
    for item in items:
        key = (item.resource_type, item.id)
        if len(batch) >= size or key in keys:
            yield batch
            batch, keys = [], set()
        batch.append(item)
        keys.add(key)
    if batch:
        yield batch


__all__ = [
    "INDEX",
    "RESOURCE",
    "VERSION",
    "ResourceStore",
    "StoredResource",
    "WriteItem",
    "WriteObserver",
    "WriteOutcome",
    "build_store",
    "content_hash",
    "row_to_stored",
]
