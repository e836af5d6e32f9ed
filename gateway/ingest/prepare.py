"""Map and validate one source record, without touching the database (the pure half of the pipeline).

Golden tests, the conformance suite and the benchmark's parse+map figures use this directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from adapters.errors import AdapterError
from adapters.source import SourceRecord
from gateway.errors import Issue, ValidationFailed
from gateway.fhir.validation import validate_resource
from gateway.ingest.actions import prior_identifiers
from gateway.ingest.identity import Key
from mappings.catalog import Catalog
from mappings.engine import CompiledMessage, Produced
from mappings.issues import MapIssue
from mappings.registry import MapContext
from mappings.schema import Call

Status = Literal["accepted", "duplicate", "rejected"]
_ISSUE_TYPE = {"MAP-REQUIRED": "required", "MAP-CODE": "code-invalid", "MAP-ID": "required"}


def map_issue(issue: MapIssue) -> Issue:
    location = (issue.location,) if issue.location else ()
    return Issue(issue.severity, _ISSUE_TYPE.get(issue.code, "value"), issue.message, location, issue.code)


def adapter_issue(error: AdapterError) -> Issue:
    location = (error.location,) if error.location else ()
    return Issue("error", "structure", error.message, location, error.code)


@dataclass
class Prepared:
    """A record mapped and validated: the resources to write, or the issues that reject it."""

    record: SourceRecord
    produced: list[Produced] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    action: Call | None = None
    mapping: CompiledMessage | None = None
    mapping_version: str | None = None  # "hl7v2/messages/adt-patient.yaml@<hash>", for the Provenance
    prior: list[Key] = field(default_factory=list)  # identifiers an action names (MRG-1 of an A40 / A47)

    def detach(self) -> Prepared:
        """The same outcome without what cannot cross to another process (the scope, the compiled mapping)."""
        record = self.record
        self.record = SourceRecord(record.kind, record.location, "", None, record.control_id, record.sender)
        self.mapping = None
        return self

    @property
    def rejected(self) -> bool:
        return any(issue.severity in ("error", "fatal") for issue in self.issues)


def mapping_for(catalog: Catalog, record: SourceRecord) -> CompiledMessage | None:
    if record.kind.startswith("csv:"):
        return catalog.csv.get(record.kind[4:])
    return catalog.hl7v2.get(record.kind)


def prepare(
    record: SourceRecord, catalog: Catalog, ctx: MapContext, *, model_pass: bool = True, mentions: bool = True
) -> Prepared:
    """Map (through the catalog) and validate one record.

    With ``mentions=False`` (the pipeline), resources a record only mentions (``mode: ensure``) are validated
    later, and only when they are new (:func:`validate_late`): most exist already and are not written again.
    """
    prepared = Prepared(record)
    if record.problem is not None:
        problem = record.problem
        issue = (
            adapter_issue(problem) if isinstance(problem, AdapterError) else Issue("error", "structure", str(problem))
        )
        prepared.issues.append(issue)
        return prepared
    if record.issues:
        prepared.issues.extend(map_issue(i) if isinstance(i, MapIssue) else i for i in record.issues)
        return prepared
    if record.resources is not None:
        prepared.produced = [Produced(resource, "upsert", "fhir") for resource in record.resources]
    else:
        mapping = mapping_for(catalog, record)
        if mapping is None or record.scope is None:
            known = ", ".join(sorted(catalog.hl7v2)) if not record.kind.startswith("csv:") else ", ".join(catalog.csv)
            prepared.issues.append(
                Issue(
                    "error",
                    "not-supported",
                    f"{record.kind} is not mapped (mapped: {known})",
                    (f"{record.location}:MSH-9",) if not record.kind.startswith("csv:") else (),
                    "MAP-UNSUPPORTED",
                )
            )
            return prepared
        prepared.mapping = mapping
        prepared.mapping_version = catalog.mapping_version(mapping)
        mapped = mapping.map(record.scope, ctx)
        prepared.issues.extend(map_issue(issue) for issue in mapped.issues)
        prepared.action = mapped.action
        if mapped.action is not None:
            prepared.prior = prior_identifiers(mapped.action, record.scope, ctx.tenant)
        prepared.produced = mapped.resources
        if prepared.rejected:
            return prepared
    for produced in prepared.produced:
        if mentions or produced.mode != "ensure":
            validate_late(produced, prepared, model_pass=model_pass)
    return prepared


def validate_late(produced: Produced, prepared: Prepared, *, model_pass: bool = True) -> None:
    """Validate one produced resource; its issues (if any) reject the record."""
    resource: dict[str, Any] = produced.resource
    try:
        produced.resource = validate_resource(resource, model_pass=model_pass)
    except ValidationFailed as failed:
        for issue in failed.issues:
            prepared.issues.append(
                Issue(
                    issue.severity,
                    issue.code,
                    f"{issue.diagnostics} (in the {resource.get('resourceType')} made by mapping "
                    f"'{produced.mapping}' from {prepared.record.location})",
                    issue.expression,
                    issue.details_code,
                )
            )


__all__ = ["Prepared", "Status", "adapter_issue", "map_issue", "mapping_for", "prepare", "validate_late"]
