"""From a stored payload to source records: the adapters' half of the pipeline (no database here).

``read_records`` chooses the adapter by format and yields one :class:`~adapters.source.SourceRecord` per HL7
message, CSV row or FHIR bundle entry, in a stable order, so a job can resume at record ``cursor`` and a dead
letter can be found again by its sequence number. A file-level problem (undecodable CSV, unknown layout, a body
that is not a Bundle) raises :class:`~adapters.errors.AdapterError` and rejects the whole payload.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from adapters.csv.errors import HEADER, CsvFileError
from adapters.csv.reader import read_csv
from adapters.errors import AdapterError, Hl7Error
from adapters.fhir.bundle import read_bundle
from adapters.hl7v2.batch import split_messages
from adapters.hl7v2.er7 import parse_message
from adapters.hl7v2.scope import MessageScope, present_fields
from adapters.source import SourceRecord
from mappings.catalog import Catalog
from mappings.layout import LayoutReader

FORMATS = ("hl7v2", "csv", "fhir")


@dataclass
class ReadSummary:
    """What reading the payload told us, reported with the job (encoding and delimiter detected, unused columns)."""

    facts: dict[str, Any] = field(default_factory=dict)


def hl7_records(payload: bytes, source: str) -> Iterator[SourceRecord]:
    for index, data in split_messages(payload):
        location = f"{source}#{index}"
        text = data.decode("latin-1")
        try:
            message = parse_message(data)
        except Hl7Error as problem:
            yield SourceRecord("hl7v2:unreadable", location, text, problem=problem)
            continue
        kind, event, _structure = message.message_type()
        sender = "^".join(filter(None, (message.get("MSH-3"), message.get("MSH-4"))))
        yield SourceRecord(
            f"{kind}^{event}",
            location,
            text,
            MessageScope(message),
            message.control_id,
            sender,
            present=present_fields(message),
        )


def csv_records(
    payload: bytes, source: str, catalog: Catalog, export: str, vendor: str, zone: ZoneInfo, summary: ReadSummary
) -> Iterator[SourceRecord]:
    layout = catalog.layouts.get((vendor, export))
    if layout is None:
        known = ", ".join(f"{v}/{e}" for v, e in sorted(catalog.layouts))
        raise CsvFileError(f"no layout for vendor '{vendor}' and export '{export}' (known: {known})", code=HEADER)
    reader = LayoutReader(layout, catalog.exports[export], catalog.tables, zone)
    table = read_csv(payload, source)
    bound, unused = reader.bind(table.header, source)
    summary.facts.update(encoding=table.encoding, delimiter=table.delimiter, unused_columns=unused)
    for row in table.rows:
        if row.problem:
            problem = CsvFileError(row.problem, location=row.location(), code="ADP-CSV-ROW")
            yield SourceRecord(f"csv:{export}", row.location(), row.text, problem=problem)
            continue
        scope, issues = reader.row(bound, row)
        yield SourceRecord(f"csv:{export}", row.location(), row.text, scope, issues=list(issues))


def read_records(
    payload: bytes,
    *,
    format: str,
    source: str,
    catalog: Catalog,
    zone: ZoneInfo,
    export: str | None = None,
    vendor: str | None = None,
    tenant: str = "",
    summary: ReadSummary | None = None,
) -> Iterator[SourceRecord]:
    """The records of a payload; raises AdapterError at once (before any record) for a file-level problem."""
    summary = summary if summary is not None else ReadSummary()
    if format == "hl7v2":
        split_messages(payload)  # a payload without any message fails here, before the first record
        return hl7_records(payload, source)
    if format == "csv":
        if not export:
            raise AdapterError("a CSV ingest needs the export kind (export=appointments, ...)", code="ADP-CSV-EXPORT")
        records = csv_records(payload, source, catalog, export, vendor or "reference", zone, summary)
        first = next(records, None)  # reading the header happens here: file-level errors surface now
        return _chain(first, records)
    if format == "fhir":
        return read_bundle(payload, source, tenant)
    raise AdapterError(f"unknown format '{format}' (known: {', '.join(FORMATS)})", code="ADP-FORMAT")


def _chain(first: SourceRecord | None, rest: Iterator[SourceRecord]) -> Iterator[SourceRecord]:
    if first is not None:
        yield first
        yield from rest


__all__ = ["FORMATS", "ReadSummary", "csv_records", "hl7_records", "read_records"]
