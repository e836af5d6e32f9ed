"""The schema of mapping files, checked at start-up: a bad file stops the gateway naming the file and the key.

The grammar is documented key by key in ``mappings/README.md``. There is no expression language: a condition or a
transform names a function of the registry (:mod:`mappings.registry`), with literal arguments.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Path = str  # a source path: "PID-3[2].4.2", "4.1" (relative to the current scope), "start" (a CSV field)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Call(_Strict):
    """A registry function with literal arguments: ``{fn: hl7_datetime}`` or ``{fn: prefix, args: {text: "8"}}``."""

    fn: str
    args: dict[str, Any] = Field(default_factory=dict)


class Condition(_Strict):
    """``when:`` — the rule applies only if the named condition holds for the value at ``from`` (or the scope)."""

    fn: str
    source: Path | dict[str, Path] | None = Field(default=None, alias="from")
    args: dict[str, Any] = Field(default_factory=dict)
    negate: bool = Field(default=False, alias="not")


class Rule(_Strict):
    """One target element: where it goes (``to``) and where its value comes from."""

    to: str
    source: Path | list[Path] | dict[str, Path] | None = Field(default=None, alias="from")
    const: Any = None
    each: Path | None = None
    when: Condition | None = None
    transform: str | Call | None = None
    table: str | None = None
    datatype: str | None = None
    rules: list[Rule] | None = None
    required: bool = False
    default: Any = None
    note: str | None = None  # free text for the reader of the file; ignored by the engine

    @model_validator(mode="after")
    def _one_source(self) -> Rule:
        sources = [
            name
            for name, present in (
                ("from", self.source is not None),
                ("const", self.const is not None),
                ("rules", self.rules is not None),
            )
            if present
        ]
        if len(sources) > 1:
            raise ValueError(f"a rule takes one of from / const / rules, not {' and '.join(sources)}")
        if not sources and self.datatype is None and self.transform is None:
            raise ValueError("a rule needs from, const, rules, datatype or a transform that needs no source")
        if self.datatype is not None and (self.const is not None or self.rules is not None):
            raise ValueError("datatype maps a source element: combine it with from or each only")
        if isinstance(self.source, dict) and self.transform is None:
            raise ValueError("several named sources (from: {a: ..., b: ...}) need a transform that combines them")
        if self.to.count("[]") > 1 or ("[]" in self.to and not self.to.endswith("[]")):
            raise ValueError(f"'{self.to}': only the last step of a target path may append ([])")
        return self


class IdPolicy(_Strict):
    """How the resource id is made: from the first identifier (default) or from named source keys."""

    keys: list[Path] | None = None  # deterministic id of (type, tenant, *values of these paths)


class ResourceMapping(_Strict):
    resource: str
    description: str | None = None
    profile: list[str] = Field(default_factory=list)
    id: IdPolicy = Field(default_factory=IdPolicy)
    rules: list[Rule]


class DatatypeMapping(_Strict):
    datatype: str
    description: str | None = None
    rules: list[Rule]


class Produce(_Strict):
    """One resource a message produces: which resource mapping, on which scope(s), and how it is written."""

    mapping: str
    each: Path | None = None
    when: Condition | None = None
    mode: Literal["upsert", "ensure"] = "upsert"  # ensure: create when absent, never overwrite richer data
    required: bool = False  # the record is rejected when this produces nothing


class MessageMapping(_Strict):
    """Routing only: which resources come from which segments (or CSV fields) for a set of events."""

    events: list[str]
    description: str | None = None
    requires: list[Path] = Field(default_factory=list)  # values (segments, fields) without which the record fails
    produce: list[Produce] = Field(default_factory=list)
    action: Call | None = None  # a registry action run after mapping: merge_patient, change_identifier


class CodeTable(_Strict):
    table: str
    description: str
    source: str | None = None
    unmapped: Literal["error", "drop", "keep"] = "error"
    case_insensitive: bool = False
    map: dict[str, Any]


ParseKind = Literal["text", "date", "datetime", "time", "decimal", "integer", "boolean"]


class ExportField(_Strict):
    """A canonical field of a CSV export kind (vendors map their columns onto these)."""

    type: ParseKind = "text"
    required: bool = False
    description: str


class ExportMapping(MessageMapping):
    """A CSV export kind: its canonical fields and the resources each row produces."""

    export: str
    fields: dict[str, ExportField]


class Column(_Strict):
    """One canonical field filled from one vendor column (or several joined by a space: a date and a time)."""

    column: str | list[str]
    field: str
    table: str | None = None  # the vendor's words → the canonical codes
    optional: bool = False  # the column may be absent from the file


class VendorLayout(_Strict):
    vendor: str
    export: str
    description: str
    columns: list[Column]
    ignore: list[str] = Field(default_factory=list)  # vendor columns known to carry nothing the gateway needs


__all__ = [
    "Call",
    "CodeTable",
    "Column",
    "Condition",
    "DatatypeMapping",
    "ExportField",
    "ExportMapping",
    "IdPolicy",
    "MessageMapping",
    "ParseKind",
    "Produce",
    "ResourceMapping",
    "Rule",
    "VendorLayout",
]
