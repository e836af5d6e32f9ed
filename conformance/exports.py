"""Export files as the suite reads them: the gateway's own adapters and mappings, without any database.

Each file's format is told from its name and first bytes (``.csv``, HL7 v2 ``MSH``, FHIR JSON); a CSV file's export
kind and vendor layout from its header (the layout whose required columns are all there and that knows the most
columns), unless the ``export`` / ``vendor`` inputs say. Records are read lazily by the gateway's ingest readers and
mapped and validated by :func:`gateway.ingest.prepare.prepare`, so every value keeps its source location
(``slots.csv:17:url_reservation``, ``PID-3[2].1``, ``Bundle.entry[3]``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from adapters.csv.errors import HEADER, CsvFileError
from adapters.csv.reader import CsvFile, read_csv
from adapters.errors import AdapterError
from adapters.source import Scope, SourceRecord
from gateway.errors import Issue
from gateway.ingest.prepare import prepare
from gateway.ingest.records import ReadSummary, read_records
from mappings.catalog import Catalog
from mappings.layout import LayoutReader
from mappings.registry import MapContext

PARIS = ZoneInfo("Europe/Paris")


@dataclass
class ExportFile:
    """One file of the target: its format, and for CSV its layout and header (or why it cannot be read)."""

    name: str
    data: bytes
    format: str  # csv | hl7v2 | fhir
    export: str | None = None
    vendor: str | None = None
    table: CsvFile | None = None
    error: AdapterError | None = None  # the file cannot be read at all
    facts: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Record:
    """One record with what the gateway makes of it: resources (sent or derived) and issues (located)."""

    file: ExportFile
    kind: str  # csv:slots, ADT^A04, fhir:collection
    location: str  # slots.csv:17, adt.hl7#2, bundle.json#Bundle.entry[3]
    scope: Scope | None
    resources: list[dict[str, Any]]
    issues: list[Issue]
    _texts: dict[int, bytes] = field(default_factory=dict, repr=False)

    def text(self, index: int) -> bytes:
        """The JSON text of ``resources[index]`` (made once per record; checks search it before walking)."""
        found = self._texts.get(index)
        if found is None:
            found = self._texts[index] = orjson.dumps(self.resources[index])
        return found

    def cell(self, name: str) -> str | None:
        """The location of a CSV field's cell (``slots.csv:17:url_reservation``) when the row has it."""
        if self.scope is None or not self.kind.startswith("csv:"):
            return None
        value = self.scope.get(name)
        if value is not None:
            return value.location
        located = self.scope.location(name)  # an empty cell of a bound column: still that cell
        return located if located != self.location else None

    def value(self, name: str) -> Any:
        if self.scope is None:
            return None
        found = self.scope.get(name)
        return None if found is None else found.value

    def where(self, resource: dict[str, Any], path: str, cell: str | None = None) -> str:
        """Where to look: the CSV cell when there is one, else the record and the FHIRPath inside the resource."""
        located = self.cell(cell) if cell else None
        if located:
            return located
        kind = resource.get("resourceType", "Resource")
        if self.file.format == "fhir" and len(self.resources) == 1:
            return f"{self.location}.resource" + (f".{path}" if path else "")
        return f"{self.location} {kind}" + (f".{path}" if path else "")


def detect_format(name: str, data: bytes) -> str:
    suffix = Path(name).suffix.lower()
    head = data.lstrip(b"\xef\xbb\xbf\x0b \r\n\t")[:3]
    if suffix in (".hl7", ".er7") or head == b"MSH":
        return "hl7v2"
    if suffix == ".json" or head[:1] == b"{":
        return "fhir"
    return "csv"


def _layout_columns(catalog: Catalog, vendor: str, export: str) -> tuple[set[str], set[str]]:
    required: set[str] = set()
    every: set[str] = set()
    for column in catalog.layouts[(vendor, export)].columns:
        names = [column.column] if isinstance(column.column, str) else list(column.column)
        every.update(names)
        if not column.optional:
            required.update(names)
    return required, every


def choose_layout(catalog: Catalog, header: tuple[str, ...], export: str | None, vendor: str | None) -> tuple[str, str]:
    """(vendor, export) of the layout a header fits best; the inputs narrow the candidates."""
    names = {h.strip() for h in header}
    best: tuple[tuple[int, int], tuple[str, str]] | None = None
    for key in sorted(catalog.layouts):
        if (vendor and key[0] != vendor) or (export and key[1] != export):
            continue
        required, every = _layout_columns(catalog, *key)
        score = (int(required <= names), len(every & names))
        if best is None or score > best[0]:
            best = (score, key)
    if best is None:
        raise CsvFileError(f"no layout for vendor '{vendor or 'any'}' and export '{export or 'any'}'", code=HEADER)
    return best[1]


def open_file(name: str, data: bytes, catalog: Catalog, inputs: dict[str, str]) -> ExportFile:
    """Tell the format (and for CSV the layout) of a file; a file-level problem is kept in ``error``."""
    found = ExportFile(name, data, detect_format(name, data), inputs=inputs)
    if found.format != "csv":
        return found
    try:
        found.table = read_csv(data, name)
        found.vendor, found.export = choose_layout(
            catalog, found.table.header, inputs.get("export"), inputs.get("vendor")
        )
    except AdapterError as error:
        found.error = error
    return found


def _own(read: Iterator[SourceRecord], part: int, parts: int) -> Iterator[SourceRecord]:
    for index, source in enumerate(read):
        if index % parts == part:
            yield source


def _csv_sources(file: ExportFile, catalog: Catalog, part: int, parts: int) -> Iterator[SourceRecord]:
    """The rows of a CSV file as source records, as the ingest reader makes them (gateway/ingest/records.py), with
    only this part's rows given their cells' values (splitting a row in fields costs little; parsing values more)."""
    if file.table is None or file.export is None or file.vendor is None:
        return
    reader = LayoutReader(
        catalog.layouts[(file.vendor, file.export)], catalog.exports[file.export], catalog.tables, PARIS
    )
    bound, unused = reader.bind(file.table.header, file.name)
    file.facts.update(encoding=file.table.encoding, delimiter=file.table.delimiter, unused_columns=unused)
    kind = f"csv:{file.export}"
    for index, row in enumerate(file.table.rows):
        if index % parts != part:
            continue
        if row.problem:
            problem = CsvFileError(row.problem, location=row.location(), code="ADP-CSV-ROW")
            yield SourceRecord(kind, row.location(), row.text, problem=problem)
            continue
        scope, issues = reader.row(bound, row)
        yield SourceRecord(kind, row.location(), row.text, scope, issues=list(issues))


def records(
    file: ExportFile, catalog: Catalog, inputs: dict[str, str], *, part: int = 0, parts: int = 1
) -> Iterator[Record]:
    """The records of a readable file, mapped and validated; a problem reading the file is kept in ``file.error``.

    With ``parts`` > 1 only every ``parts``-th record from ``part`` on is mapped (the others are only read), so that
    several processes share a large file. A resource a record only mentions (the practitioner of a slot row) is
    given once per process, with the first record that mentions it: the same mention on every row says nothing new.
    """
    if file.error is not None:
        return
    tenant = inputs.get("finess") or "759900426"
    try:
        if file.format == "csv":
            read = _csv_sources(file, catalog, part, parts)
        else:
            summary = ReadSummary()
            read = _own(
                read_records(
                    file.data,
                    format=file.format,
                    source=file.name,
                    catalog=catalog,
                    zone=PARIS,
                    export=file.export,
                    vendor=file.vendor,
                    tenant=tenant,
                    summary=summary,
                ),
                part,
                parts,
            )
            file.facts = summary.facts
        entry_problems: list[tuple[str, str]] = file.facts.setdefault("entry_problems", [])
        ctx = MapContext(tenant, PARIS)
        seen: set[tuple[str, str]] = set()
        for source in read:
            if file.format == "fhir" and isinstance(source.problem, AdapterError):
                entry_problems.append((source.problem.location or source.location, source.problem.message))
            prepared = prepare(source, catalog, ctx, model_pass=False, mentions=False)
            resources = [p.resource for p in prepared.produced if p.mode != "ensure"]
            for produced in prepared.produced:
                key = (str(produced.resource.get("resourceType")), str(produced.resource.get("id")))
                if produced.mode == "ensure" and key not in seen:
                    seen.add(key)
                    resources.append(produced.resource)
            yield Record(file, source.kind, source.location, source.scope, resources, prepared.issues)
    except AdapterError as error:
        file.error = error


__all__ = ["PARIS", "ExportFile", "Record", "choose_layout", "detect_format", "open_file", "records"]
