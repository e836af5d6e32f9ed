"""The audit trail: one AuditEvent (IHE BALP patterns, security/balp.py) per read, search, write, denial and token.

Interface used by the rest of the gateway (the request layer, the token endpoint, ingest):
``AuditTrail(engine, settings).record(AuditRecord(...))`` (blocking), or ``submit(...)``, whose future is done once
the events are committed (async code awaits it with ``asyncio.wrap_future``: no worker thread held while waiting).

Append-only and hash-chained. Each event gets ``seq`` = head.seq + 1 and
``hash = SHA-256(prev_hash "\\n" canonical-event-JSON "\\n" seq "\\n" recorded_at)`` (hex), where the canonical JSON
has sorted keys and no spaces and carries ``id`` = seq, and the first ``prev_hash`` is :data:`GENESIS`. The head row
(``audit_head``, id 1) is locked while appending (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN
IMMEDIATE`` serialises writers), so several processes on one database still write one chain. Within a process,
one writer thread per trail appends whatever is queued in one transaction (group commit) and then completes every
caller's future, with the error when the transaction failed: no caller learns "written" before the commit. On a
SQLite file the processes' writers also take an exclusive ``flock`` on ``<database>.audit-lock`` around the
transaction: the next one starts the moment the lock is released, where SQLite's busy handler would have slept
for milliseconds, and events queue meanwhile, so the batches grow with the load.
The database refuses UPDATE and DELETE on ``audit_event`` (migration 0003); :func:`verify` detects whoever gets
round that. A hash chain has no secret: someone who rewrites rows *and* recomputes every later hash and the head is
caught only by comparing the head with a copy kept elsewhere (``audit verify`` prints it for that purpose).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import orjson
from sqlalchemy import Connection, Engine, Row, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url

from gateway.errors import StorageUnavailable
from gateway.settings import Settings
from gateway.storage.db import read_transaction, write_transaction
from security.audit_store import audit_engine
from security.balp import build_event, columns, recorded_instant
from security.models import AuditEventRow, AuditHeadRow

Action = str  # read | vread | search | history | create | update | delete | transaction | batch | token | ingest
# | operation

GENESIS = "0" * 64
log = logging.getLogger("cpts.audit")
EVENTS = AuditEventRow.__table__  # type: ignore[attr-defined]
HEAD = AuditHeadRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AuditRecord:
    action: Action
    outcome: str  # FHIR AuditEvent.outcome: "0" success, "4" minor failure (refused), "8" serious, "12" major
    agent: str  # who: client name, idNat_PS, certificate subject DN, "anonymous"
    role: str | None = None  # the agent's role (security/roles.yaml), None when unauthenticated
    client: str | None = None  # OAuth client id, when there is one
    issuer: str | None = None  # who vouched for the agent (this gateway, an external issuer, "mtls", "open-access")
    tenant: str | None = None  # the agent's centre, when it has one
    resource_type: str | None = None
    resource_ids: tuple[str, ...] = ()  # "Type/id" of what was read or written (at most a page)
    patients: tuple[str, ...] = ()  # "Patient/id" of every patient whose data was concerned
    query: str | None = None  # the query string of a search or history; for a token, the request minus secrets
    decision: str | None = None  # the policy decision: "permit" | "deny"
    reason: str | None = None  # its reason code, e.g. SEC-TENANT, CONSENT-OBJECTION, CONSENT-CARE-TEAM
    detail: str | None = None  # human-readable diagnostics (never clinical content)
    address: str | None = None  # the caller's network address
    request_id: str | None = None  # X-Request-ID, to find the matching log lines
    path: str | None = None  # HTTP method and path
    practitioner_id: str | None = None  # the practitioner's idNat_PS when the agent is one (else taken from agent)
    token_id: str | None = None  # jti of the access token used (or, for action "token", issued)
    scope: str | None = None  # token: the scopes granted


class AuditUnavailable(StorageUnavailable):
    """The event could not be appended: the request it records must not be served unaudited."""

    default_code = "SEC-AUDIT"


def chain_hash(prev_hash: str, event_json: bytes, seq: int, recorded_at: datetime) -> str:
    """The hash of one link: previous hash, canonical event JSON, sequence number and recording time."""
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(event_json)
    digest.update(f"\n{seq}\n{recorded_instant(recorded_at)}".encode("ascii"))
    return digest.hexdigest()


def canonical(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


WRITER_IDLE_SECONDS = 30.0  # a writer thread with nothing to write for this long ends; the next event starts one


@dataclass
class _Ticket:
    """The events of one ``submit`` call, waiting for the writer thread; ``future`` done once written or failed."""

    items: list[tuple[datetime, AuditRecord]]
    future: Future[None]


def _lock_path(engine: Engine) -> str | None:
    """The file the processes writing one SQLite database lock around their appends; None for other databases."""
    if engine.dialect.name != "sqlite":
        return None
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}.audit-lock"


class AuditTrail:
    """Appends AuditEvents to the hash chain; safe to share between threads and to run in several processes."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        engine = audit_engine(settings, engine)  # the store's database, or the trail's own (security/audit_store.py)
        self.engine = engine
        self.observer = (settings.base_url or settings.issuer).rstrip("/")
        self._postgres = engine.dialect.name == "postgresql"
        self._lock_path = _lock_path(engine)
        self._pending: list[_Ticket] = []
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._owner = os.getpid()
        head = select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)  # statements built once: appends are hot
        self._head = head.with_for_update() if self._postgres else head
        self._insert = insert(EVENTS)
        self._advance = update(HEAD).where(HEAD.c.id == 1).values(seq=bindparam("to_seq"), hash=bindparam("to_hash"))

    def record(self, rec: AuditRecord) -> None:
        self.record_many((rec,))

    def record_many(self, recs: tuple[AuditRecord, ...] | list[AuditRecord]) -> None:
        """Append the events of ``recs`` (in order) and return once they are committed."""
        self.submit(recs).result()

    def submit(self, recs: tuple[AuditRecord, ...] | list[AuditRecord]) -> Future[None]:
        """Queue the events of ``recs`` (in order, one after the other in the chain). The future is done once they
        are committed; it fails with :class:`AuditUnavailable` when they could not be. It cannot be cancelled: a
        caller that stops waiting (a client gone) does not take its event out of the trail."""
        future: Future[None] = Future()
        future.set_running_or_notify_cancel()
        if not recs:
            future.set_result(None)
            return future
        now = datetime.now(UTC).replace(tzinfo=None)
        ticket = _Ticket([(now, rec) for rec in recs], future)
        with self._wake:
            self._pending.append(ticket)
            if self._thread is None or self._owner != os.getpid():  # none yet, idle ended, or a forked copy
                self._start_writer()
            self._wake.notify()
        return future

    def _start_writer(self) -> None:
        """A new writer thread (the caller holds ``_wake``)."""
        self._owner = os.getpid()
        self._thread = threading.Thread(target=self._write_loop, name="audit-writer", daemon=True)
        self._thread.start()

    def _write_loop(self) -> None:
        lock = self._open_lock()
        try:
            while True:
                with self._wake:
                    if not self._pending:
                        self._wake.wait(WRITER_IDLE_SECONDS)
                    if not self._pending:
                        self._thread = None  # under the lock: a submit from now on starts a new writer
                        return
                    batch, self._pending = self._pending, []
                self._write(batch, lock)
        finally:
            if lock is not None:
                lock.close()
            with self._wake:  # ended by surprise: hand what is queued to a new writer rather than strand it
                if self._thread is threading.current_thread():
                    self._thread = None
                    if self._pending:
                        self._start_writer()

    def _open_lock(self) -> IO[bytes] | None:
        """This writer's handle on the lock file (a flock belongs to an open file). Without one (a read-only
        directory), appends stay correct: SQLite's own lock still serialises them, only slower to hand over."""
        if self._lock_path is None:
            return None
        try:
            return open(self._lock_path, "ab")
        except OSError:
            log.warning("audit lock file %s cannot be opened: appends queue on SQLite's lock alone", self._lock_path)
            return None

    def _write(self, batch: list[_Ticket], lock: IO[bytes] | None) -> None:
        try:
            items = [(at, build_event(rec, recorded_instant(at), self.observer)) for t in batch for at, rec in t.items]
            if lock is not None:  # exclusive between the processes appending to one SQLite file
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                self._append(items)
            finally:
                if lock is not None:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        except BaseException as exc:  # every waiter learns its events were not written
            error = AuditUnavailable(
                f"the audit trail could not be written ({type(exc).__name__}); the request was not served"
            )
            error.__cause__ = exc
            for ticket in batch:
                ticket.future.set_exception(error)
            return
        for ticket in batch:
            ticket.future.set_result(None)

    def _append(self, items: list[tuple[datetime, dict[str, Any]]]) -> None:
        with write_transaction(self.engine) as conn:
            seq, prev = self._lock_head(conn)
            rows = []
            for recorded_at, event in items:
                seq += 1
                body = canonical({**event, "id": str(seq)})
                digest = chain_hash(prev, body, seq, recorded_at)
                rows.append(
                    {"seq": seq, "recorded_at": recorded_at, **columns(event), "event": body.decode(),
                     "prev_hash": prev, "hash": digest}
                )  # fmt: skip
                prev = digest
            conn.execute(self._insert, rows)
            conn.execute(self._advance, {"to_seq": seq, "to_hash": prev})

    def _lock_head(self, conn: Connection) -> tuple[int, str]:
        """The chain head, locked until the transaction ends; created (race-safe) on first use."""
        row = conn.execute(self._head).first()
        if row is None:
            last = conn.execute(select(EVENTS.c.seq, EVENTS.c.hash).order_by(EVENTS.c.seq.desc()).limit(1)).first()
            values = {"id": 1, "seq": last.seq if last else 0, "hash": last.hash if last else GENESIS}
            maker = pg_insert if self._postgres else sqlite_insert
            conn.execute(maker(HEAD).values(values).on_conflict_do_nothing(index_elements=["id"]))
            row = conn.execute(self._head).one()
        return int(row.seq), str(row.hash)


@dataclass(frozen=True)
class VerifyResult:
    intact: bool
    events: int  # events checked
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str | None = None  # edited | deleted | reordered | truncated | head-mismatch | outside-chain
    detail: str | None = None


def _check_row(row: Row[Any], prev: str) -> tuple[str, str] | None:
    """Why this row does not belong at its place in the chain, or None."""
    try:
        event = orjson.loads(row.event)
        derived = columns(event)
        recorded = event["recorded"]
        event_id = event.get("id")
    except (orjson.JSONDecodeError, KeyError, StopIteration, TypeError, AttributeError):
        return "edited", f"the event at seq {row.seq} is no longer an AuditEvent this gateway wrote"
    if event_id != str(row.seq):
        return "reordered", f"the event at seq {row.seq} was recorded as seq {event_id}"
    if row.prev_hash != prev:
        if row.seq == 1:
            return "edited", "the first event does not start from the genesis value"
        return "edited", f"prev_hash of seq {row.seq} does not match the hash of seq {row.seq - 1}"
    if chain_hash(prev, row.event.encode(), row.seq, row.recorded_at) != row.hash:
        return "edited", f"the hash of seq {row.seq} does not match its content"
    if recorded != recorded_instant(row.recorded_at):
        return "edited", f"recorded_at of seq {row.seq} differs from the event's recorded time"
    for name, value in derived.items():
        if getattr(row, name) != value:
            return "edited", f"the {name} column of seq {row.seq} differs from the event ({getattr(row, name)!r})"
    return None


def _head(conn: Connection) -> tuple[int, str] | None:
    row = conn.execute(select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)).first()
    return (int(row.seq), str(row.hash)) if row else None


def verify(engine: Engine, batch: int = 2000) -> VerifyResult:
    """Walk the chain in seq order, ``batch`` rows at a time, and report the first link that does not hold."""
    with read_transaction(engine) as conn:
        head = _head(conn)
        first = conn.execute(select(func.min(EVENTS.c.seq))).scalar()
    head_seq, head_hash = head or (0, GENESIS)
    if head is None and first is not None:
        return VerifyResult(False, 0, 0, GENESIS, int(first), "head-mismatch", "audit_head is missing")
    expected, prev, checked = 1, GENESIS, 0
    while expected <= head_seq:
        with read_transaction(engine) as conn:
            rows = conn.execute(
                select(EVENTS)
                .where(EVENTS.c.seq >= expected, EVENTS.c.seq <= head_seq)
                .order_by(EVENTS.c.seq)
                .limit(batch)
            ).all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected:
                detail = f"event {expected} is missing: the trail jumps from seq {expected - 1} to {row.seq}"
                return VerifyResult(False, checked, head_seq, head_hash, expected, "deleted", detail)
            if (problem := _check_row(row, prev)) is not None:
                return VerifyResult(False, checked, head_seq, head_hash, row.seq, *problem)
            prev, expected, checked = row.hash, expected + 1, checked + 1
    if expected - 1 != head_seq:
        detail = f"the trail ends at seq {expected - 1} but its head is at seq {head_seq}: the last events were deleted"
        return VerifyResult(False, checked, head_seq, head_hash, expected, "truncated", detail)
    if prev != head_hash:
        detail = f"the hash of seq {head_seq} differs from the head's"
        return VerifyResult(False, checked, head_seq, head_hash, head_seq, "head-mismatch", detail)
    with read_transaction(engine) as conn:  # one statement: one snapshot, even while others append
        beyond = conn.execute(
            select(func.min(EVENTS.c.seq), func.max(HEAD.c.seq)).where(HEAD.c.id == 1, EVENTS.c.seq > HEAD.c.seq)
        ).first()
    if beyond is not None and beyond[0] is not None:
        detail = f"seq {beyond[0]} lies beyond the head (seq {beyond[1]}): it was not appended through the chain"
        return VerifyResult(False, checked, head_seq, head_hash, int(beyond[0]), "outside-chain", detail)
    return VerifyResult(True, checked, head_seq, head_hash)


__all__ = [
    "GENESIS",
    "Action",
    "AuditRecord",
    "AuditTrail",
    "AuditUnavailable",
    "VerifyResult",
    "canonical",
    "chain_hash",
    "verify",
]
