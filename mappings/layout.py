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
from adapters.source import LazyValue, Scope, Value
from mappings.issues import MapIssue
from mappings.schema import CodeTable, Column, ExportMapping, ParseKind, VendorLayout

_REMEMBERED = 4096  # distinct cell texts a column's parser keeps the value of (then it starts afresh)
_UNSEEN = object()


def _parser(kind: ParseKind, zone: ZoneInfo) -> Callable[[str], Any]:
    """The parser of one column's cells (a new one for each file read)."""
    parsers: dict[str, Callable[[str], Any]] = {
        "text": lambda text: text,
        "date": parse_date,
        "datetime": lambda text: parse_datetime(text, zone),
        "time": parse_time,
        "decimal": parse_decimal,
        "integer": parse_int,
        "boolean": parse_bool,
    }
    return _remembering(parsers[kind])


def _remembering(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse``, answering a text it has read before from memory.

    An export repeats its cells: every practitioner's agenda starts at the same 08:00, 08:20..., durations and
    yes/no flags take a handful of values, and a date and time in the centre's zone is the costliest cell to read.
    Values are immutable (dates, decimals, numbers, booleans), so sharing them is safe; a text that does not parse
    is not remembered (its problem is raised each time). At most ``_REMEMBERED`` texts are kept.
    """
    seen: dict[str, Any] = {}

    def parse_once(text: str) -> Any:
        found = seen.get(text, _UNSEEN)
        if found is _UNSEEN:
            if len(seen) >= _REMEMBERED:
                seen.clear()
            found = seen[text] = parse(text)
        return found

    return parse_once


class RowScope:
    """One CSV row seen through the layout: ``get("start")`` → the parsed value of the vendor's column.

    Locations (``rdv.csv:17:debut``) are written only when asked for: a field's is its (first) column's cell, and
    a field the row leaves empty, or the layout does not bind, is located at the row.
    """

    __slots__ = ("_bound", "get", "row", "values")

    def __init__(self, values: dict[str, Value], row: CsvRow, bound: Sequence[_Bound]) -> None:
        self.values, self.row, self._bound = values, row, bound
        # get(path): the value of a canonical field, None when the row leaves it empty. It is the dict's own get,
        # called for every rule of every row: no Python frame in between.
        self.get: Callable[[str], Value | None] = values.get

    def each(self, path: str) -> Sequence[Scope]:
        return [self] if path in self.values else []

    def location(self, path: str) -> str:
        for column in reversed(self._bound):  # as in the values, a later column of the same field wins
            if column.field == path:
                return self.row.location(column.name)
        return self.row.location()

    @property
    def row_location(self) -> str:
        """``rdv.csv:17``."""
        return self.row.location()


@dataclass(frozen=True, slots=True)
class _Bound:
    """A layout column found in the file's header."""

    column: Column
    names: tuple[str, ...]  # the header names it joins (one, or a date and a time)
    parse: Callable[[str], Any] | None  # None for text, which is kept as it is
    table: dict[str, Any] | None
    table_spec: CodeTable | None
    field: str  # the canonical field it fills
    name: str  # its first header name: where its cells are located


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
            headers = tuple(str(n) for n in found)
            parse = None if kind == "text" else _parser(kind, self.zone)
            bound.append(_Bound(column, headers, parse, table, spec, column.field, headers[0]))
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
        """The row's scope (its non-empty cells, parsed, by canonical field) and the problems of single cells."""
        values: dict[str, Value] = {}
        issues: list[MapIssue] = []
        cells = row.values
        locate = CsvRow.location
        for column in bound:
            names = column.names
            if len(names) == 1:
                text = cells.get(column.name, "").strip()
            else:
                text = " ".join(part for part in (cells.get(name, "").strip() for name in names) if part)
            if not text:
                continue
            if column.table is not None and column.table_spec is not None:
                key = text.upper() if column.table_spec.case_insensitive else text
                if key not in column.table:
                    if column.table_spec.unmapped == "error":
                        known = ", ".join(sorted(column.table_spec.map)[:12])
                        message = f"'{text}' is not a known value (known: {known})"
                        issues.append(MapIssue("MAP-CODE", message, row.location(column.name)))
                        continue
                    if column.table_spec.unmapped == "drop":
                        continue
                else:
                    text = str(column.table[key])
            if column.parse is None:
                values[column.field] = LazyValue(text, locate, row, column.name)
                continue
            try:
                values[column.field] = LazyValue(column.parse(text), locate, row, column.name)
            except ValueProblem as problem:
                issues.append(MapIssue("MAP-VALUE", problem.message, row.location(column.name)))
        return RowScope(values, row, bound), issues


__all__ = ["LayoutReader", "RowScope"]
