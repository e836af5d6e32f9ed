"""The ingest pipeline: the one place that chains parse → map → validate → authorise → store → provenance.

A job's records are taken in batches. Each batch is mapped and validated outside the database, then written in one
transaction together with its outcomes, dead letters, accepted control ids and the job's cursor: after a crash the
job resumes after the last committed batch and, since ids are deterministic and unchanged content makes no new
version, a record processed twice is stored once. When a batch cannot be written (a resource owned by another
centre, a lost race), its records are written one by one so one bad record never blocks the good ones.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, insert, select, tuple_, update

from adapters.source import SourceRecord
from gateway.capacity.sync import job_synced
from gateway.errors import GatewayError, Issue
from gateway.fhir.dates import format_instant, utc_now
from gateway.fhir.ids import deterministic_id
from gateway.ingest.actions import merged_writes, old_patient
from gateway.ingest.identity import IdentityResolver, Key, cached_id, conditional_key, first_identifier
from gateway.ingest.jobs import DEAD, JOB, RECORD, Job, JobStore, now
from gateway.ingest.models import ControlIdRow
from gateway.ingest.prepare import Prepared, validate_late
from gateway.ingest.producer import Work, events, parallel_events
from gateway.ingest.records import ReadSummary, read_records
from gateway.settings import Settings
from gateway.storage.db import write_transaction
from gateway.storage.store import WriteItem, WriteOutcome, build_store
from mappings.catalog import Catalog, default_catalog
from mappings.engine import Produced
from mappings.registry import MapContext
from security.audit import AuditRecord, AuditTrail
from security.ledger import MAX_LISTED

CONTROL = ControlIdRow.__table__  # type: ignore[attr-defined]
REFERENCE_TEXT = re.compile(rb'"reference":"((?:[^"\\]|\\.)*)"')
BATCH = 500
SHARED_TYPES = frozenset({"Practitioner"})  # the national directory of professionals: one resource for all centres
PROVENANCE_AGENT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
Progress = Callable[[int, Counter[str]], None]


@dataclass
class RecordOutcome:
    seq: int
    location: str
    status: str  # accepted | duplicate | rejected
    issues: list[Issue] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)  # "Type/id/_history/v"


class Pipeline:
    def __init__(self, settings: Settings, engine: Engine, catalog: Catalog | None = None) -> None:
        self.settings, self.engine = settings, engine
        self.catalog = catalog or default_catalog()
        self.store = build_store(engine, settings)
        cipher = self.store.protector.cipher if self.store.protector is not None else None
        self.jobs = JobStore(engine, timedelta(seconds=settings.ingest_lease_seconds), cipher)
        self.audit = AuditTrail(engine, settings)

    # -- running jobs ----------------------------------------------------------------------------------------------
    def run_next(self, owner: str, stop: threading.Event | None = None) -> str | None:
        """Take and run one queued job; returns its id, or None when there is none."""
        job = self.jobs.claim(owner)
        if job is None:
            return None
        self.run(job, stop=stop)
        return job.id

    def run(self, job: Job, progress: Progress | None = None, stop: threading.Event | None = None) -> None:
        """Process a claimed job to the end (resuming after its cursor); ``stop`` hands it back between batches.

        A payload of ``CPTS_INGEST_PARALLEL_BYTES`` or more is prepared by a second process while this one writes.
        """
        payload = self.jobs.payload(job.message_id)
        work = Work(
            payload, job.format, job.source, job.tenant, self.settings.timezone, job.export, job.vendor, job.cursor,
            BATCH, self.settings.ingest_model_validation, str(self.catalog.root),
        )  # fmt: skip
        parallel = len(payload) >= self.settings.ingest_parallel_bytes
        stream = parallel_events(work) if parallel else events(work, self.catalog)
        counts: Counter[str] = Counter()
        facts: dict[str, Any] = {}
        settled: set[tuple[str, str]] = set()  # resources a record only mentions, known to be stored already
        for event in stream:
            kind = event[0]
            if kind == "refused":
                self._reject_payload(job, event[1])
                return
            if kind == "batch":
                batch: list[tuple[int, Prepared]] = event[1]
                counts.update(outcome.status for outcome in self.commit(job, batch, settled=settled))
                if progress:
                    progress(batch[-1][0], counts)
                if stop is not None and stop.is_set():
                    self.jobs.release(job.id)
                    return
            elif kind == "tail":
                issue, seq = event[1], event[2]
                tail = RecordOutcome(seq, issue.expression[0] if issue.expression else job.source, "rejected", [issue])
                with write_transaction(self.engine) as conn:
                    self._record(conn, job, [tail], {})
                counts["rejected"] += 1
                facts["error"] = issue.to_fhir()
            elif kind == "facts":
                facts.update(event[1])
                if event[2]:
                    facts["unused_fields"] = dict(sorted(event[2].items()))
        facts["mapping_version"] = self.catalog.version
        self.jobs.finish(job.id, "done", facts)
        if "error" not in facts:  # no fatal error: the centre's capacity from this source is fresh
            job_synced(self.engine, job.id, job.format, job.export)

    def records(self, job: Job, summary: ReadSummary) -> Iterator[SourceRecord]:
        """The job's records read again from its stored payload (for dead letters: show and replay)."""
        payload = self.jobs.payload(job.message_id)
        return read_records(
            payload, format=job.format, source=job.source, catalog=self.catalog, zone=self.settings.tz,
            export=job.export, vendor=job.vendor, tenant=job.tenant, summary=summary,
        )  # fmt: skip

    def _reject_payload(self, job: Job, issue: Issue) -> None:
        outcome = RecordOutcome(0, issue.expression[0] if issue.expression else job.source, "rejected", [issue])
        with write_transaction(self.engine) as conn:
            self._record(conn, job, [outcome], {})
        self.jobs.finish(job.id, "rejected", {"error": issue.to_fhir()})

    def context(self, job: Job) -> MapContext:
        return MapContext(tenant=job.tenant, zone=self.settings.tz)

    def commit(
        self,
        job: Job,
        prepared: list[tuple[int, Prepared]],
        *,
        replay: bool = False,
        settled: set[tuple[str, str]] | None = None,
    ) -> list[RecordOutcome]:
        """Write a batch in one transaction; when that fails, record by record (one bad record blocks no other).

        ``settled`` holds the mentioned resources (``mode: ensure``) that earlier batches of the job stored or found
        stored: they are not looked at again (a practitioner named in 10,000 appointments is checked once).
        """
        settled = settled if settled is not None else set()
        try:
            touched: set[tuple[str, str]] = set()
            with write_transaction(self.engine) as conn:
                outcomes = self._store(conn, job, prepared, settled, touched)
                self._record(conn, job, outcomes, dict(prepared), replay=replay)
            settled |= touched
        except GatewayError:
            outcomes = [outcome for item in prepared for outcome in self._commit_one(job, item, replay, settled)]
        self._audit(job, outcomes)
        return outcomes

    def _audit(self, job: Job, outcomes: list[RecordOutcome]) -> None:
        """One AuditEvent per committed batch: what the centre's export wrote, and about which patients."""
        written = [ref.split("/_history/")[0] for o in outcomes if o.status == "accepted" for ref in o.resources]
        if not written and all(o.status != "rejected" for o in outcomes):
            return  # duplicates only: nothing changed
        counts = {status: sum(o.status == status for o in outcomes) for status in ("accepted", "duplicate", "rejected")}
        self.audit.record(
            AuditRecord(
                action="ingest",
                outcome="0" if not counts["rejected"] else "4",
                agent=f"ingest:{job.tenant}",
                tenant=job.tenant,
                resource_ids=tuple(written[:MAX_LISTED]),
                patients=tuple(sorted({r for r in written if r.startswith("Patient/")})),
                detail=f"ingest job {job.id} ({job.format}, {job.source}): "
                + ", ".join(f"{n} {status}" for status, n in counts.items()),
            )
        )

    def _commit_one(
        self, job: Job, item: tuple[int, Prepared], replay: bool, settled: set[tuple[str, str]]
    ) -> list[RecordOutcome]:
        seq, prepared = item
        try:
            touched: set[tuple[str, str]] = set()
            with write_transaction(self.engine) as conn:
                outcomes = self._store(conn, job, [item], settled, touched)
                self._record(conn, job, outcomes, {seq: prepared}, replay=replay)
            settled |= touched
            return outcomes
        except GatewayError as error:  # this record is the one the store refuses (e.g. another centre's resource)
            outcome = RecordOutcome(seq, prepared.record.location, "rejected", list(error.issues))
        with write_transaction(self.engine) as conn:
            self._record(conn, job, [outcome], {seq: prepared}, replay=replay)
        return [outcome]

    # -- storing a batch -------------------------------------------------------------------------------------------
    def _store(
        self,
        conn: Connection,
        job: Job,
        prepared: list[tuple[int, Prepared]],
        settled: set[tuple[str, str]],
        touched: set[tuple[str, str]],
    ) -> list[RecordOutcome]:
        tenant = job.tenant
        outcomes: dict[int, RecordOutcome] = {}
        live: list[tuple[int, Prepared]] = []
        for seq, item in prepared:
            if item.rejected:
                outcomes[seq] = RecordOutcome(seq, item.record.location, "rejected", list(item.issues))
            else:
                live.append((seq, item))
        for seq in self._duplicate_controls(conn, tenant, live):
            outcomes[seq] = RecordOutcome(seq, dict(live)[seq].record.location, "duplicate")
        live = [(seq, item) for seq, item in live if seq not in outcomes]
        mentioned: dict[int, list[tuple[str, str]]] = {}
        for seq, item in live:
            keep = []
            for produced in item.produced:
                key = (produced.resource["resourceType"], produced.resource["id"])
                if produced.mode == "ensure":
                    if key in settled:
                        continue
                    mentioned.setdefault(seq, []).append(key)
                keep.append(produced)
            item.produced = keep

        resolver = IdentityResolver(conn, tenant)
        self._resolve(resolver, tenant, live)
        items: list[WriteItem] = []
        owners: list[int] = []
        ensured: set[tuple[str, str]] = set()
        ensure_keys = [
            (p.resource["resourceType"], p.resource["id"]) for _s, i in live for p in i.produced if p.mode == "ensure"
        ]
        existing = set(self.store.read_many(conn, ensure_keys)) if ensure_keys else set()
        for seq, item in list(live):
            mine: list[WriteItem] = []
            stubs: list[tuple[str, str]] = []
            for produced in item.produced:
                resource = produced.resource
                key = (resource["resourceType"], resource["id"])
                if produced.mode == "ensure":
                    if key in existing or key in ensured:
                        continue
                    validate_late(produced, item, model_pass=self.settings.ingest_model_validation)
                    stubs.append(key)
                mine.append(self._item(resource, tenant))
            if item.rejected:  # a resource it only mentions, and that is new, is not valid
                outcomes[seq] = RecordOutcome(seq, item.record.location, "rejected", list(item.issues))
                live.remove((seq, item))
                continue
            ensured.update(stubs)
            touched.update(mentioned.get(seq, ()))
            for kind, rid, content in self._action_writes(conn, resolver, tenant, item):
                mine.append(self._item({**content, "resourceType": kind, "id": rid}, tenant))
            items.extend(mine)
            owners.extend([seq] * len(mine))
        written = self.store.write(conn, items) if items else []
        by_record: dict[int, list[WriteOutcome]] = {}
        for seq, outcome in zip(owners, written, strict=True):
            by_record.setdefault(seq, []).append(outcome)
        changed: list[str] = []
        for seq, item in live:
            results = by_record.get(seq, [])
            refs = [_versioned(o) for o in results if o.stored is not None]
            fresh = [_versioned(o) for o in results if o.outcome in ("created", "updated", "deleted")]
            # nothing new: its content was stored already, or everything it mentions existed (a duplicate)
            status = "accepted" if fresh or (not results and not item.produced) else "duplicate"
            changed.extend(fresh)
            outcomes[seq] = RecordOutcome(seq, item.record.location, status, list(item.issues), refs)
        if changed:
            self._provenance(conn, job, prepared, changed)
        return [outcomes[seq] for seq, _item in prepared]

    def _item(self, resource: dict[str, Any], tenant: str) -> WriteItem:
        kind = resource["resourceType"]
        owner = None if kind in SHARED_TYPES else tenant
        return WriteItem(kind, resource["id"], resource, tenant=owner, owners=frozenset({tenant, None}))

    def _duplicate_controls(self, conn: Connection, tenant: str, live: list[tuple[int, Prepared]]) -> set[int]:
        keyed = [(seq, (p.record.sender or "", p.record.control_id)) for seq, p in live if p.record.control_id]
        if not keyed:
            return set()
        duplicates: set[int] = set()
        seen: set[tuple[str, str]] = set()
        stored = {
            (row.sender, row.control_id)
            for row in conn.execute(
                select(CONTROL.c.sender, CONTROL.c.control_id).where(
                    CONTROL.c.tenant == tenant,
                    tuple_(CONTROL.c.sender, CONTROL.c.control_id).in_([key for _seq, key in keyed]),
                )
            )
        }
        for seq, key in keyed:
            if key in stored or key in seen:
                duplicates.add(seq)
            seen.add(key)
        return duplicates

    def _resolve(self, resolver: IdentityResolver, tenant: str, live: list[tuple[int, Prepared]]) -> None:
        """Give produced resources the ids of the stored resources they are, and make references literal.

        References are found and rewritten on the JSON text (one regular expression over ``orjson`` output), which
        is several times faster than walking the nested dicts twice.
        """
        keys: set[Key] = set()
        renames: dict[Key, str] = {}
        texts: list[tuple[Produced, bytes, list[str]]] = []
        for _seq, item in live:
            for produced in item.produced:
                first = first_identifier(produced.resource)
                if first is not None:
                    keys.add(first)
                text = orjson.dumps(produced.resource)
                refs = [orjson.loads(b'"' + match + b'"') for match in REFERENCE_TEXT.findall(text)]
                for ref in refs:
                    key = conditional_key(ref) if "?identifier=" in ref else None
                    if key is not None:
                        keys.add(key)
                texts.append((produced, text, refs))
            if item.action is not None and item.action.fn == "change_identifier":
                old = old_patient(resolver, item.prior)
                new = next((first_identifier(p.resource) for p in item.produced
                            if p.resource["resourceType"] == "Patient"), None)  # fmt: skip
                if old is not None and new is not None:
                    renames[new] = old
        resolver.lookup(keys)
        resolver.known.update(renames)
        local: dict[str, str] = {}  # "Type/deterministic id" → "Type/the stored id it turned out to be"
        for _seq, item in live:
            for produced in item.produced:
                resource = produced.resource
                first = first_identifier(resource)
                if first is None:
                    continue
                stored = resolver.known.get(first)
                if stored is not None and stored != resource["id"] and resource["id"] == cached_id(*first):
                    local[f"{first[0]}/{resource['id']}"] = f"{first[0]}/{stored}"
                    resource["id"] = stored
                resolver.known.setdefault(first, resource["id"])
        for produced, text, refs in texts:
            mapping: dict[str, str] = {}
            for ref in refs:
                if ref in local:
                    mapping[ref] = local[ref]
                elif "?identifier=" in ref:
                    key = conditional_key(ref)
                    if key is not None:
                        mapping[ref] = f"{key[0]}/{resolver.resolve(key)}"
            if not mapping:
                continue
            new_id = produced.resource["id"]

            def swap(match: re.Match[bytes], mapping: dict[str, str] = mapping) -> bytes:
                ref = orjson.loads(b'"' + match[1] + b'"')
                return b'"reference":' + orjson.dumps(mapping[ref]) if ref in mapping else match[0]

            produced.resource = orjson.loads(REFERENCE_TEXT.sub(swap, text))
            produced.resource["id"] = new_id

    def _action_writes(
        self, conn: Connection, resolver: IdentityResolver, tenant: str, item: Prepared
    ) -> list[tuple[str, str, dict[str, Any]]]:
        if item.action is None or item.action.fn != "merge_patient" or not item.prior:
            return []
        survivor = next((p.resource for p in item.produced if p.resource["resourceType"] == "Patient"), None)
        if survivor is None:
            return []
        old = old_patient(resolver, item.prior, as_stored=True)
        if old is None or old == survivor["id"]:
            if old is None:
                item.issues.append(
                    Issue("warning", "not-found", "the merged patient (MRG-1) is not known here: nothing to merge",
                          (f"{item.record.location}:MRG-1",), "MAP-MERGE")
                )  # fmt: skip
            return []
        links = [
            link for link in survivor.get("link") or [] if link.get("other", {}).get("reference") != f"Patient/{old}"
        ]
        survivor["link"] = [*links, {"other": {"reference": f"Patient/{old}"}, "type": "replaces"}]
        if resolver.known.get(item.prior[0]) == survivor["id"]:
            return []  # merged already (a re-sent A40): the survivor keeps its link, nothing else moves
        return merged_writes(conn, tenant, old, survivor["id"])

    def _provenance(self, conn: Connection, job: Job, prepared: list[tuple[int, Prepared]], targets: list[str]) -> None:
        first, last = prepared[0][0], prepared[-1][0]
        mappings = sorted({p.mapping_version for _s, p in prepared if p.mapping_version is not None})
        locations = prepared[0][1].record.location if first == last else f"records {first}-{last} of {job.source}"
        provenance_id = deterministic_id("Provenance", job.message_id, first)
        provenance: dict[str, Any] = {
            "resourceType": "Provenance",
            "id": provenance_id,
            "target": [{"reference": ref} for ref in dict.fromkeys(targets)],
            "occurredDateTime": format_instant(job.received_at),
            "recorded": format_instant(utc_now()),
            "policy": [f"urn:cpts-gateway:mapping:{m}" for m in mappings] or ["urn:cpts-gateway:mapping:fhir"],
            "activity": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": "UPDATE"}]
            },
            "agent": [
                {
                    "type": {"coding": [{"system": PROVENANCE_AGENT, "code": "author"}]},
                    "who": {
                        "identifier": {"system": "https://finess.esante.gouv.fr", "value": job.tenant},
                        "display": f"centre {job.tenant}",
                    },
                },
                {
                    "type": {"coding": [{"system": PROVENANCE_AGENT, "code": "assembler"}]},
                    "who": {"display": f"cpts-gateway mappings {self.catalog.version}"},
                },
            ],
            "entity": [
                {
                    "role": "source",
                    "what": {
                        "identifier": {"system": "urn:cpts-gateway:ingest-message", "value": job.message_id},
                        "display": f"{job.format} {locations} (sha256 {job.sha256[:16]})",
                    },
                }
            ],
        }
        self.store.write(conn, [WriteItem("Provenance", provenance_id, provenance, tenant=job.tenant)])

    # -- outcomes --------------------------------------------------------------------------------------------------
    def _record(
        self,
        conn: Connection,
        job: Job,
        outcomes: list[RecordOutcome],
        prepared: dict[int, Prepared],
        *,
        replay: bool = False,
    ) -> None:
        rows = [
            {
                "job_id": job.id,
                "seq": o.seq,
                "location": o.location[:255],
                "status": o.status,
                "resources": orjson.dumps(o.resources).decode(),
                "issues": orjson.dumps([i.to_fhir() for i in o.issues]).decode(),
            }
            for o in outcomes
        ]
        stamp = now()
        if replay:
            for row in rows:
                conn.execute(
                    update(RECORD)
                    .where(RECORD.c.job_id == job.id, RECORD.c.seq == row["seq"])
                    .values(status=row["status"], resources=row["resources"], issues=row["issues"])
                )
        elif rows:
            conn.execute(insert(RECORD), rows)
        dead = [o for o in outcomes if o.status == "rejected"]
        if dead and not replay:
            conn.execute(
                insert(DEAD),
                [
                    {
                        "id": deterministic_id("DeadLetter", job.message_id, o.seq),
                        "tenant": job.tenant,
                        "message_id": job.message_id,
                        "job_id": job.id,
                        "seq": o.seq,
                        "location": o.location[:255],
                        "status": "open",
                        "reason": orjson.dumps([i.to_fhir() for i in o.issues]).decode(),
                        "created_at": stamp,
                        "attempts": 0,
                    }
                    for o in dead
                ],
            )
        controls = []
        for o in outcomes:
            record = prepared[o.seq].record if o.seq in prepared else None
            if o.status == "accepted" and record is not None and record.control_id:
                controls.append(
                    {"tenant": job.tenant, "sender": (record.sender or "")[:255],
                     "control_id": record.control_id[:199], "message_id": job.message_id, "seq": o.seq}
                )  # fmt: skip
        if controls:
            conn.execute(insert(CONTROL), controls)
        if not replay:
            tally = Counter(o.status for o in outcomes)
            cursor = max((o.seq for o in outcomes), default=job.cursor)
            conn.execute(
                update(JOB)
                .where(JOB.c.id == job.id)
                .values(
                    cursor=cursor,
                    accepted=JOB.c.accepted + tally["accepted"],
                    duplicate=JOB.c.duplicate + tally["duplicate"],
                    rejected=JOB.c.rejected + tally["rejected"],
                    lease_until=stamp + self.jobs.lease,
                )
            )


def _versioned(outcome: WriteOutcome) -> str:
    stored = outcome.stored
    assert stored is not None
    return f"{stored.resource_type}/{stored.id}/_history/{stored.version_id}"


def new_owner() -> str:
    return f"worker-{uuid.uuid4().hex[:12]}"


__all__ = ["BATCH", "SHARED_TYPES", "Pipeline", "RecordOutcome", "new_owner"]
