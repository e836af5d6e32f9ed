"""The dead-letter store: records that failed, listed, shown and replayed after a mapping fix.

A replay reads the record again from the stored payload (by its sequence number), maps it with the mappings loaded
now and writes it like the first time. Replaying is idempotent: a replayed letter is closed, and replaying a
record whose resources are already stored changes nothing (deterministic ids, unchanged content).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Engine, delete, select, update

from adapters.errors import AdapterError
from gateway.errors import NotFound
from gateway.ingest.jobs import DEAD, JOB, RECORD, Job, JobStore, now
from gateway.ingest.pipeline import Pipeline, RecordOutcome, new_owner
from gateway.ingest.prepare import prepare
from gateway.ingest.records import ReadSummary
from gateway.storage.db import read_transaction, write_transaction


@dataclass(frozen=True)
class Replayed:
    id: str
    location: str
    status: str  # accepted | duplicate | rejected | already-replayed
    issues: list[dict[str, Any]]


class DeadLetters:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.engine: Engine = pipeline.engine
        self.jobs: JobStore = pipeline.jobs

    def letters(
        self, *, status: str | None = "open", tenant: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        query = select(DEAD).order_by(DEAD.c.created_at, DEAD.c.seq).limit(limit)
        if status:
            query = query.where(DEAD.c.status == status)
        if tenant:
            query = query.where(DEAD.c.tenant == tenant)
        with read_transaction(self.engine) as conn:
            return [self._row(row) for row in conn.execute(query)]

    def show(self, letter_id: str) -> dict[str, Any]:
        with read_transaction(self.engine) as conn:
            row = conn.execute(select(DEAD).where(DEAD.c.id == letter_id)).first()
        if row is None:
            raise NotFound(f"dead letter {letter_id} is not known", expression="id")
        shown = self._row(row)
        record = self._record(self.jobs.job(row.job_id), row.seq)
        shown["text"] = record.text if record is not None else None
        return shown

    def replay(self, ids: Sequence[str] | None = None) -> list[Replayed]:
        """Replay the given letters (all open ones when none are given)."""
        with read_transaction(self.engine) as conn:
            query = select(DEAD).order_by(DEAD.c.created_at, DEAD.c.seq)
            query = query.where(DEAD.c.id.in_(list(ids))) if ids else query.where(DEAD.c.status == "open")
            rows = list(conn.execute(query))
        if ids:
            missing = set(ids) - {row.id for row in rows}
            if missing:
                raise NotFound(f"dead letter(s) not known: {', '.join(sorted(missing))}", expression="id")
        results: list[Replayed] = []
        for row in rows:
            if row.status != "open":
                results.append(Replayed(row.id, row.location, "already-replayed", []))
                continue
            results.append(self._replay_one(row))
        return results

    def _record(self, job: Job, seq: int) -> Any:
        if seq == 0:
            return None
        try:
            for n, record in enumerate(self.pipeline.records(job, ReadSummary()), start=1):
                if n == seq:
                    return record
        except AdapterError:
            return None
        return None

    def _replay_one(self, row: Any) -> Replayed:
        job = self.jobs.job(row.job_id)
        if row.seq == 0:
            return self._replay_payload(row)
        record = self._record(job, row.seq)
        if record is None:
            return Replayed(row.id, row.location, "rejected", orjson.loads(row.reason))
        prepared = prepare(record, self.pipeline.catalog, self.pipeline.context(job))
        outcome = self.pipeline.commit(job, [(row.seq, prepared)], replay=True)[0]
        issues = [issue.to_fhir() for issue in outcome.issues]
        self._close(row, outcome, reason=issues)
        return Replayed(row.id, row.location, outcome.status, issues)

    def _replay_payload(self, row: Any) -> Replayed:
        """The whole payload was refused (unreadable file, unknown layout): run its job again from the start."""
        with write_transaction(self.engine) as conn:
            conn.execute(delete(DEAD).where(DEAD.c.id == row.id))
            conn.execute(delete(RECORD).where(RECORD.c.job_id == row.job_id))
            conn.execute(
                update(JOB)
                .where(JOB.c.id == row.job_id)
                .values(status="queued", cursor=0, accepted=0, duplicate=0, rejected=0, lease_until=None)
            )
        job = self.jobs.claim(new_owner(), job_id=row.job_id)
        if job is not None:
            self.pipeline.run(job)
        report = self.jobs.report(row.job_id, limit=1)
        status = "accepted" if report["status"] == "done" else "rejected"
        error = report["summary"].get("error")
        return Replayed(row.id, row.location, status, [error] if error else [])

    def _close(self, row: Any, outcome: RecordOutcome, reason: list[dict[str, Any]]) -> None:
        fixed = outcome.status in ("accepted", "duplicate")
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(DEAD)
                .where(DEAD.c.id == row.id)
                .values(
                    status="replayed" if fixed else "open",
                    replayed_at=now() if fixed else None,
                    attempts=DEAD.c.attempts + 1,
                    reason=orjson.dumps(reason).decode(),
                )
            )
            if fixed:
                conn.execute(
                    update(JOB)
                    .where(JOB.c.id == row.job_id)
                    .values(rejected=JOB.c.rejected - 1, **{outcome.status: getattr(JOB.c, outcome.status) + 1})
                )

    @staticmethod
    def _row(row: Any) -> dict[str, Any]:
        return {
            "id": row.id,
            "tenant": row.tenant,
            "job": row.job_id,
            "message": row.message_id,
            "seq": row.seq,
            "location": row.location,
            "status": row.status,
            "attempts": row.attempts,
            "created": row.created_at.isoformat() + "Z",
            "replayed": row.replayed_at.isoformat() + "Z" if row.replayed_at else None,
            "reason": orjson.loads(row.reason),
        }


__all__ = ["DeadLetters", "Replayed"]
