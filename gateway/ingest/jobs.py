"""The job store: receiving payloads (durably, before parsing), leasing jobs to workers, reading outcomes.

``receive`` commits the raw payload and its job in one transaction and only then returns: the caller's
acknowledgement (HTTP 202, MLLP ACK) follows that commit, so nothing acknowledged is ever lost. Workers take jobs
with a lease (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers): a job whose worker
died is taken again when its lease runs out and resumes after the last committed record.

Payloads carry names and INS in clear, so they are stored sealed with the active data key (associated data: the
message id); the ``sha256`` column is of the plaintext, for idempotency checks.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from gateway.errors import Conflict, NotFound
from gateway.fhir.dates import utc_now
from gateway.ingest.models import DeadLetterRow, IngestJobRow, IngestMessageRow, IngestRecordRow
from gateway.storage.db import read_transaction, write_transaction
from security.crypto import DataCipher, DataKeysError, bytes_kid
from security.protect import installed

MESSAGE = IngestMessageRow.__table__  # type: ignore[attr-defined]
JOB = IngestJobRow.__table__  # type: ignore[attr-defined]
RECORD = IngestRecordRow.__table__  # type: ignore[attr-defined]
DEAD = DeadLetterRow.__table__  # type: ignore[attr-defined]
LEASE = timedelta(seconds=60)


def now() -> datetime:
    return utc_now().replace(tzinfo=None)


@dataclass(frozen=True)
class Received:
    job_id: str
    message_id: str
    replayed: bool  # the same Idempotency-Key was seen before: this is the earlier job


@dataclass(frozen=True)
class Job:
    id: str
    message_id: str
    tenant: str
    status: str
    cursor: int
    format: str
    export: str | None
    vendor: str | None
    source: str
    received_at: datetime
    sha256: str


class JobStore:
    def __init__(self, engine: Engine, lease: timedelta = LEASE, cipher: DataCipher | None = None) -> None:
        self.engine = engine
        self.lease = lease
        self._cipher = cipher

    @property
    def cipher(self) -> DataCipher | None:
        """The given cipher, else the process's installed one (none: payloads are stored in clear)."""
        if self._cipher is not None:
            return self._cipher
        protector = installed()
        return protector.cipher if protector is not None else None

    def _seal(self, payload: bytes, message_id: str) -> bytes:
        cipher = self.cipher
        return cipher.seal_bytes(payload, message_aad(message_id)) if cipher is not None else payload

    # -- receiving -------------------------------------------------------------------------------------------------
    def receive(
        self,
        payload: bytes,
        *,
        tenant: str,
        format: str,
        source: str,
        export: str | None = None,
        vendor: str | None = None,
        idempotency_key: str | None = None,
        owner: str | None = None,
    ) -> Received:
        """Store the payload and queue its job, committed before returning.

        With ``owner`` the job is created already leased to that worker (the MLLP handler and the CLI run their own
        jobs at once; no background worker may take it in between).
        """
        digest = hashlib.sha256(payload).hexdigest()
        if idempotency_key:
            earlier = self._by_key(tenant, idempotency_key, digest)
            if earlier is not None:
                return earlier
        message_id, job_id, stamp = str(uuid.uuid4()), str(uuid.uuid4()), now()
        content = self._seal(payload, message_id)
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(
                    insert(MESSAGE).values(
                        id=message_id, tenant=tenant, format=format, export=export, vendor=vendor,
                        source=source[:255], sha256=digest, size=len(payload), received_at=stamp,
                        idempotency_key=idempotency_key, content=content,
                    )
                )  # fmt: skip
                lease: dict[str, Any] = {"status": "queued", "attempts": 0}
                if owner:
                    lease = {"status": "running", "lease_owner": owner, "lease_until": stamp + self.lease,
                             "started_at": stamp, "attempts": 1}  # fmt: skip
                conn.execute(
                    insert(JOB).values(
                        id=job_id, message_id=message_id, tenant=tenant, created_at=stamp,
                        cursor=0, accepted=0, duplicate=0, rejected=0, summary="{}", **lease,
                    )
                )  # fmt: skip
        except IntegrityError:  # the same Idempotency-Key committed by a concurrent request
            earlier = self._by_key(tenant, idempotency_key or "", digest)
            if earlier is None:
                raise
            return earlier
        return Received(job_id, message_id, replayed=False)

    def _by_key(self, tenant: str, key: str, digest: str) -> Received | None:
        with read_transaction(self.engine) as conn:
            row = conn.execute(
                select(MESSAGE.c.id, MESSAGE.c.sha256, JOB.c.id.label("job_id"))
                .join(JOB, JOB.c.message_id == MESSAGE.c.id)
                .where(MESSAGE.c.tenant == tenant, MESSAGE.c.idempotency_key == key)
                .order_by(JOB.c.created_at)
            ).first()
        if row is None:
            return None
        if row.sha256 != digest:
            raise Conflict(f"Idempotency-Key '{key}' was already used with a different payload", expression="header")
        return Received(row.job_id, row.id, replayed=True)

    # -- leasing ---------------------------------------------------------------------------------------------------
    def claim(self, owner: str, job_id: str | None = None) -> Job | None:
        """Take a queued job (or one whose lease ran out); ``job_id`` asks for that one only."""
        stamp = now()
        with write_transaction(self.engine) as conn:
            query = select(JOB.c.id).where(
                or_(JOB.c.status == "queued", (JOB.c.status == "running") & (JOB.c.lease_until < stamp))
            )
            if job_id is not None:
                query = query.where(JOB.c.id == job_id)
            query = query.order_by(JOB.c.created_at).limit(1)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            found = conn.execute(query).scalar_one_or_none()
            if found is None:
                return None
            conn.execute(
                update(JOB)
                .where(JOB.c.id == found)
                .values(
                    status="running", lease_owner=owner, lease_until=stamp + self.lease, attempts=JOB.c.attempts + 1,
                    started_at=func.coalesce(JOB.c.started_at, stamp),
                )
            )  # fmt: skip
        return self.job(found)

    def leased(self, job_id: str, owner: str) -> Job | None:
        """The job, if it is leased to ``owner`` (as ``receive(..., owner=...)`` leaves it)."""
        job = self.job(job_id)
        with read_transaction(self.engine) as conn:
            holder = conn.execute(select(JOB.c.lease_owner).where(JOB.c.id == job_id)).scalar_one()
        return job if holder == owner and job.status == "running" else None

    def job(self, job_id: str) -> Job:
        with read_transaction(self.engine) as conn:
            row = conn.execute(
                select(JOB, MESSAGE.c.format, MESSAGE.c.export, MESSAGE.c.vendor, MESSAGE.c.source,
                       MESSAGE.c.received_at, MESSAGE.c.sha256)
                .join(MESSAGE, MESSAGE.c.id == JOB.c.message_id)
                .where(JOB.c.id == job_id)
            ).first()  # fmt: skip
        if row is None:
            raise NotFound(f"ingest job {job_id} is not known", expression="job")
        return Job(
            row.id, row.message_id, row.tenant, row.status, row.cursor, row.format, row.export, row.vendor,
            row.source, row.received_at, row.sha256,
        )  # fmt: skip

    def payload(self, message_id: str) -> bytes:
        with read_transaction(self.engine) as conn:
            content = conn.execute(select(MESSAGE.c.content).where(MESSAGE.c.id == message_id)).scalar_one()
        return self.open_payload(message_id, bytes(content))

    def open_payload(self, message_id: str, content: bytes) -> bytes:
        """The payload as received (payloads stored before sealing existed are returned as they are)."""
        if bytes_kid(content) is None:
            return content
        cipher = self.cipher
        if cipher is None:
            raise DataKeysError(f"ingest message {message_id} is sealed and no data keys are loaded in this process")
        return cipher.open_bytes(content, message_aad(message_id))

    def finish(self, job_id: str, status: str, summary: dict[str, Any]) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(JOB)
                .where(JOB.c.id == job_id)
                .values(status=status, finished_at=now(), lease_until=None, summary=orjson.dumps(summary).decode())
            )

    def release(self, job_id: str) -> None:
        """Hand a running job back to the queue (the worker is stopping); it resumes after its cursor."""
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(JOB).where(JOB.c.id == job_id).values(status="queued", lease_owner=None, lease_until=None)
            )

    def pending(self) -> int:
        with read_transaction(self.engine) as conn:
            count = conn.execute(select(func.count()).select_from(JOB).where(JOB.c.status.in_(["queued", "running"])))
            return int(count.scalar_one())

    # -- reading outcomes ------------------------------------------------------------------------------------------
    def report(self, job_id: str, *, offset: int = 0, limit: int = 1000) -> dict[str, Any]:
        """The job's status, counts, summary and a page of per-record outcomes."""
        job = self.job(job_id)
        with read_transaction(self.engine) as conn:
            row = conn.execute(select(JOB).where(JOB.c.id == job_id)).one()
            records = conn.execute(
                select(RECORD).where(RECORD.c.job_id == job_id).order_by(RECORD.c.seq).offset(offset).limit(limit)
            ).all()
        return {
            "id": job.id,
            "status": job.status,
            "tenant": job.tenant,
            "format": job.format,
            "export": job.export,
            "vendor": job.vendor,
            "source": job.source,
            "sha256": job.sha256,
            "received": job.received_at.isoformat() + "Z",
            "finished": row.finished_at.isoformat() + "Z" if row.finished_at else None,
            "counts": {"accepted": row.accepted, "duplicate": row.duplicate, "rejected": row.rejected},
            "processed": row.cursor,
            "summary": orjson.loads(row.summary),
            "records": [
                {
                    "seq": r.seq,
                    "location": r.location,
                    "status": r.status,
                    "resources": orjson.loads(r.resources),
                    "issues": orjson.loads(r.issues),
                }
                for r in records
            ],
        }


def message_aad(message_id: str) -> bytes:
    """Associated data of a sealed payload: it opens only as the payload of this message."""
    return f"ingest_message/{message_id}".encode()


__all__ = ["LEASE", "Job", "JobStore", "Received", "message_aad", "now"]
