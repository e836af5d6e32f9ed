"""A vendor's CSV column layout applied to rows: vendor columns → the export's canonical fields, parsed.

The file's header is bound to the layout once (a missing column is a file-level error naming it); each row then
becomes a :class:`RowScope` whose values are typed (dates in the centre's time zone, decimals, booleans) and keep
their cell location (``rdv.csv:17:statut``). Columns the layout does not know are reported as unused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from adapters.csv.errors import HEADER, CsvFileError
from adapters.csv.reader import CsvRow
from adapters.csv.values import (
    ValueProblem,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
    parse_time,
)
from adapters.source import Scope, Value
from mappings.issues import MapIssue
from mappings.schema import CodeTable, Column, ExportMapping, ParseKind, VendorLayout


def _parser(kind: ParseKind, zone: ZoneInfo) -> Callable[[str], Any]:
    parsers: dict[str, Callable[[str], Any]] = {
        "text": lambda text: text,
        "date": parse_date,
        "datetime": lambda text: parse_datetime(text, zone),
        "time": parse_time,
        "decimal": parse_decimal,
        "integer": parse_int,
        "boolean": parse_bool,
    }
    return parsers[kind]


class RowScope:
    """One CSV row seen through the layout: ``get("start")`` → the parsed value of the vendor's column."""

    def __init__(self, values: dict[str, Value], locations: dict[str, str], row_location: str) -> None:
        self.values, self.locations, self.row_location = values, locations, row_location

    def get(self, path: str) -> Value | None:
        return self.values.get(path)

    def each(self, path: str) -> Sequence[Scope]:
        return [self] if path in self.values else []

    def location(self, path: str) -> str:
        return self.locations.get(path, self.row_location)


@dataclass(frozen=True)
class _Bound:
    column: Column
    names: tuple[str, ...]
    parse: Callable[[str], Any]
    table: dict[str, Any] | None
    table_spec: CodeTable | None


class LayoutReader:
    """Binds a vendor layout to a file's header and reads its rows."""

    def __init__(self, layout: VendorLayout, export: ExportMapping, tables: dict[str, CodeTable], zone: ZoneInfo):
        self.layout, self.export, self.tables, self.zone = layout, export, tables, zone

    def bind(self, header: Sequence[str], source: str) -> tuple[list[_Bound], list[str]]:
        """Columns of the layout found in the header, and the header's columns the layout does not use."""
        present = {name.strip(): name for name in header}
        bound: list[_Bound] = []
        missing: list[str] = []
        for column in self.layout.columns:
            names = [column.column] if isinstance(column.column, str) else list(column.column)
            found = [present.get(name) for name in names]
            if any(name is None for name in found):
                if not column.optional:
                    missing.extend(name for name, hit in zip(names, found, strict=True) if hit is None)
                continue
            spec = self.tables.get(column.table) if column.table else None
            table = None
            if spec is not None:
                table = {(k.upper() if spec.case_insensitive else k): v for k, v in spec.map.items()}
            kind = self.export.fields[column.field].type
            bound.append(_Bound(column, tuple(str(n) for n in found), _parser(kind, self.zone), table, spec))
        if missing:
            raise CsvFileError(
                f"the file has no column {', '.join(repr(m) for m in missing)} that the {self.layout.vendor} "
                f"layout of '{self.layout.export}' needs (columns found: {', '.join(header)})",
                location=f"{source}:1",
                code=HEADER,
            )
        used = {name for b in bound for name in b.names} | {n.strip() for n in self.layout.ignore}
        unused = [name for name in header if name.strip() not in used]
        return bound, unused

    def row(self, bound: list[_Bound], row: CsvRow) -> tuple[RowScope, list[MapIssue]]:
        values: dict[str, Value] = {}
        locations: dict[str, str] = {}
        issues: list[MapIssue] = []
        for column in bound:
            field = column.column.field
            location = row.location(column.names[0])
            locations[field] = location
            text = " ".join(part for part in (row.values.get(name, "").strip() for name in column.names) if part)
            if not text:
                continue
            if column.table is not None and column.table_spec is not None:
                key = text.upper() if column.table_spec.case_insensitive else text
                if key not in column.table:
                    if column.table_spec.unmapped == "error":
                        known = ", ".join(sorted(column.table_spec.map)[:12])
                        issues.append(MapIssue("MAP-CODE", f"'{text}' is not a known value (known: {known})", location))
                        continue
                    if column.table_spec.unmapped == "drop":
                        continue
                else:
                    text = str(column.table[key])
            try:
                values[field] = Value(column.parse(text), location)
            except ValueProblem as problem:
                issues.append(MapIssue("MAP-VALUE", problem.message, location))
        return RowScope(values, locations, row.location()), issues


__all__ = ["LayoutReader", "RowScope"]
