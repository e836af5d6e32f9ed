"""Indicator MeasureReports in the resource store: who owns them, idempotent writes, and finding them again.

A centre's report belongs to the centre's tenant (the FINESS of its ``subject.identifier``); the CPTS-wide report
(``subject.identifier`` = ``urn:cpts-gateway:scope|cpts``) is a CPTS-level resource, owned by no centre (tenant
None), like the Measures. A CPTS-wide report of a centre-only indicator (IND-CCAM, IND-REJECT, IND-UNPAID) is not
stored: no audience may read it (coordinators never see these indicators, and a centre that knew the CPTS total and
its own would learn the other centres' financial figures).

Writing a report whose content equals the stored one apart from ``date`` (the generation timestamp) keeps the stored
``date``, so the store writes no new version: computing the same data twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, select

from gateway.fhir.dates import parse_range
from gateway.fhir.validation import validate_resource
from gateway.settings import Settings
from gateway.storage.db import write_transaction
from gateway.storage.store import INDEX, RESOURCE, ResourceStore, StoredResource, WriteItem, build_store

AUDIENCE_SYSTEM = "urn:cpts-gateway:indicator-audience"
CENTRE_ONLY, SHARED = "centre-only", "shared"
SCOPE_SYSTEM = "urn:cpts-gateway:scope"
FINESS_SYSTEM = "https://finess.esante.gouv.fr"
MEASURE_PREFIX = "urn:cpts-gateway:measure:"


def audience(report: dict[str, Any]) -> str | None:
    """``centre-only`` or ``shared`` (the engine's ``meta.tag``); None for a report the engine did not make."""
    for tag in (report.get("meta") or {}).get("tag") or []:
        if isinstance(tag, dict) and tag.get("system") == AUDIENCE_SYSTEM:
            return str(tag.get("code"))
    return None


def _subject_identifier(report: dict[str, Any]) -> dict[str, Any]:
    subject = report.get("subject")
    identifier = subject.get("identifier") if isinstance(subject, dict) else None
    return identifier if isinstance(identifier, dict) else {}


def is_cpts_wide(report: dict[str, Any]) -> bool:
    return _subject_identifier(report).get("system") == SCOPE_SYSTEM


def centre_of(report: dict[str, Any]) -> str | None:
    """The FINESS of the centre a report is about (None for the CPTS-wide report or an unknown subject)."""
    identifier = _subject_identifier(report)
    value = identifier.get("value")
    return str(value) if identifier.get("system") == FINESS_SYSTEM and value else None


def indicator_of(report: dict[str, Any]) -> str:
    """``IND-NOSHOW`` from the report's measure canonical (the canonical itself when it is not the gateway's)."""
    measure = str(report.get("measure", ""))
    return measure.removeprefix(MEASURE_PREFIX).split("|", 1)[0]


@dataclass(frozen=True)
class ReportOutcome:
    id: str
    indicator: str
    subject: str  # FINESS, or "cpts"
    outcome: str  # created, updated, unchanged, skipped
    report: dict[str, Any]


def _without_date(resource: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (resource.get("meta") or {}).items() if k not in ("versionId", "lastUpdated")}
    return {k: v for k, v in resource.items() if k not in ("date", "meta")} | {"meta": meta}


def store_reports(engine: Engine, settings: Settings, reports: Sequence[dict[str, Any]]) -> list[ReportOutcome]:
    """Validate and upsert the engine's reports in one transaction; one outcome per report, in order."""
    store = build_store(engine, settings)
    outcomes: list[ReportOutcome] = []
    items: list[tuple[int, WriteItem]] = []
    with write_transaction(engine) as conn:
        for report in reports:
            resource = validate_resource(report, expected_type="MeasureReport")
            subject = "cpts" if is_cpts_wide(resource) else (centre_of(resource) or "")
            if is_cpts_wide(resource) and audience(resource) == CENTRE_ONLY:
                outcomes.append(ReportOutcome(resource["id"], indicator_of(resource), subject, "skipped", resource))
                continue
            current = store.read(conn, "MeasureReport", resource["id"])
            if current is not None and not current.deleted:
                stored = current.json()
                if _without_date(stored) == _without_date(resource) and "date" in stored:
                    resource = {**resource, "date": stored["date"]}
            tenant = None if is_cpts_wide(resource) else centre_of(resource)
            items.append((len(outcomes), WriteItem("MeasureReport", resource["id"], resource, tenant=tenant)))
            outcomes.append(ReportOutcome(resource["id"], indicator_of(resource), subject, "", resource))
        written = store.write(conn, [item for _, item in items]) if items else []
    for (position, _item), result in zip(items, written, strict=True):
        before = outcomes[position]
        body = result.stored.json() if result.stored is not None else before.report
        outcomes[position] = ReportOutcome(before.id, before.indicator, before.subject, result.outcome, body)
    return outcomes


def _bounds(start: date, end: date, zone: tzinfo) -> tuple[Any, Any]:
    """How the search index holds a report's period (see gateway/storage/indexer.py)."""
    return parse_range(start.isoformat(), zone)[0], parse_range(end.isoformat(), zone)[1]


def find_reports(
    conn: Connection,
    store: ResourceStore,
    *,
    measure: str | None,
    start: date,
    end: date,
    exact: bool = True,
    tenants: Iterable[str | None] | None = None,
) -> list[StoredResource]:
    """Current reports of ``measure`` (its canonical; None: every measure) whose period is ``start..end``
    (``exact``) or lies within it; ``tenants`` limits the owners (None in it: the CPTS-level reports). Sorted by id."""
    ref, dates = INDEX["reference"], INDEX["date"]
    low, high = _bounds(start, end, store.zone)
    by_measure = select(ref.c.rid).where(
        ref.c.res_type == "MeasureReport", ref.c.param == "measure", ref.c.url == measure
    )
    period = [dates.c.res_type == "MeasureReport", dates.c.param == "period"]
    period += [dates.c.low == low, dates.c.high == high] if exact else [dates.c.low >= low, dates.c.high <= high]
    query = select(RESOURCE.c.res_id).where(
        RESOURCE.c.res_type == "MeasureReport",
        RESOURCE.c.deleted.is_(False),
        RESOURCE.c.rid.in_(select(dates.c.rid).where(*period)),
    )
    if measure is not None:
        query = query.where(RESOURCE.c.rid.in_(by_measure))
    if tenants is not None:
        wanted = list(tenants)
        owned = RESOURCE.c.tenant.in_([t for t in wanted if t is not None])
        query = query.where(owned | RESOURCE.c.tenant.is_(None) if None in wanted else owned)
    ids = sorted(row.res_id for row in conn.execute(query))
    found = store.read_many(conn, [("MeasureReport", i) for i in ids])
    return [found[("MeasureReport", i)] for i in ids if ("MeasureReport", i) in found]


def period_of(report: dict[str, Any]) -> tuple[date, date] | None:
    period = report.get("period") or {}
    try:
        return date.fromisoformat(str(period["start"])[:10]), date.fromisoformat(str(period["end"])[:10])
    except (KeyError, ValueError):
        return None


__all__ = [
    "AUDIENCE_SYSTEM",
    "CENTRE_ONLY",
    "FINESS_SYSTEM",
    "MEASURE_PREFIX",
    "SCOPE_SYSTEM",
    "SHARED",
    "ReportOutcome",
    "audience",
    "centre_of",
    "find_reports",
    "indicator_of",
    "is_cpts_wide",
    "period_of",
    "store_reports",
]
