"""Loads every mapping file at start-up, validates it against the schema and compiles it.

Layout (paths relative to the ``mappings`` package)::

    codes/*.yaml                 code tables
    hl7v2/datatypes/*.yaml       one per HL7 v2 datatype use (CX, XPN, XCN, XAD, ...)
    hl7v2/resources/*.yaml       one per target resource (field mapping only)
    hl7v2/messages/*.yaml        one per message structure (routing only; lists its trigger events)
    csv/exports/*.yaml           one per export kind: canonical fields and routing
    csv/resources/*.yaml         resource mappings over the canonical fields
    csv/<vendor>/<export>.yaml   a vendor's column layout for an export kind

A bad file raises :class:`~mappings.issues.MappingFileError` naming the file and the key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from mappings.compiler import Compiler
from mappings.engine import CompiledMessage, CompiledResource
from mappings.issues import MappingFileError
from mappings.registry import load_functions
from mappings.schema import (
    CodeTable,
    DatatypeMapping,
    ExportMapping,
    MessageMapping,
    ResourceMapping,
    Rule,
    VendorLayout,
)

ROOT = Path(__file__).parent
M = TypeVar("M", bound=BaseModel)


@dataclass
class Catalog:
    """Every mapping of the gateway, validated and compiled."""

    root: Path
    version: str  # hash of all mapping files: changes whenever any mapping or code table changes
    file_versions: dict[str, str] = field(default_factory=dict)  # relative path → short hash
    tables: dict[str, CodeTable] = field(default_factory=dict)
    hl7v2: dict[str, CompiledMessage] = field(default_factory=dict)  # by event "ADT^A04"
    csv: dict[str, CompiledMessage] = field(default_factory=dict)  # by export kind
    exports: dict[str, ExportMapping] = field(default_factory=dict)
    layouts: dict[tuple[str, str], VendorLayout] = field(default_factory=dict)  # (vendor, export)

    def vendors(self) -> list[str]:
        return sorted({vendor for vendor, _export in self.layouts})

    def mapping_version(self, compiled: CompiledMessage) -> str:
        return f"{compiled.file}@{self.file_versions.get(compiled.file, self.version)}"


def _read(path: Path, root: Path, model: type[M]) -> M:
    name = str(path.relative_to(root))
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MappingFileError(name, "", f"not readable YAML: {exc}") from None
    if not isinstance(data, dict):
        raise MappingFileError(name, "", "a mapping file holds a mapping (key: value) at the top")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        raise MappingFileError(name, key, error["msg"]) from None


def _files(root: Path, folder: str) -> list[Path]:
    return sorted((root / folder).glob("*.yaml")) if (root / folder).is_dir() else []


DEFINITIONS = ("measures", "protocols")  # folders of definitions loaded elsewhere (gateway/indicators, pathways)


def load_catalog(root: Path = ROOT) -> Catalog:
    """Read, validate and compile all mapping files under ``root``."""
    load_functions()
    digest = hashlib.sha256()
    catalog = Catalog(root=root, version="")
    for path in sorted(root.rglob("*.yaml")):
        if path.relative_to(root).parts[0] in DEFINITIONS:
            continue  # indicator and protocol definitions are not ingest mappings: they do not version ingest
        content = path.read_bytes()
        relative = str(path.relative_to(root))
        digest.update(relative.encode() + b"\0" + content)
        catalog.file_versions[relative] = hashlib.sha256(content).hexdigest()[:12]
    catalog.version = digest.hexdigest()[:12]

    for path in _files(root, "codes"):
        table = _read(path, root, CodeTable)
        if table.table != path.stem:
            raise MappingFileError(str(path.relative_to(root)), "table", f"'{table.table}' must equal the file name")
        catalog.tables[table.table] = table

    datatypes: dict[str, Sequence[Rule]] = {}
    for path in _files(root, "hl7v2/datatypes"):
        datatype = _read(path, root, DatatypeMapping)
        if datatype.datatype != path.stem:
            raise MappingFileError(str(path.relative_to(root)), "datatype", "must equal the file name")
        datatypes[datatype.datatype] = datatype.rules
    compiler = Compiler(catalog.tables, datatypes)
    for name in datatypes:  # compile every datatype, used or not, so a bad one fails at start-up
        compiler.datatype(name, f"hl7v2/datatypes/{name}.yaml", "datatype")

    hl7_resources = _resources(root, "hl7v2/resources", compiler)
    for path in _files(root, "hl7v2/messages"):
        relative = str(path.relative_to(root))
        spec = _read(path, root, MessageMapping)
        compiled = CompiledMessage(path.stem, spec, hl7_resources, compiler, relative)
        for event in spec.events:
            if event in catalog.hl7v2:
                raise MappingFileError(relative, "events", f"{event} is already mapped by {catalog.hl7v2[event].file}")
            catalog.hl7v2[event] = compiled

    csv_resources = _resources(root, "csv/resources", compiler)
    for path in _files(root, "csv/exports"):
        relative = str(path.relative_to(root))
        export = _read(path, root, ExportMapping)
        if export.export != path.stem:
            raise MappingFileError(relative, "export", f"'{export.export}' must equal the file name")
        catalog.exports[export.export] = export
        catalog.csv[export.export] = CompiledMessage(export.export, export, csv_resources, compiler, relative)
        _check_fields(catalog.csv[export.export], export, relative)

    vendors = (root / "csv").iterdir() if (root / "csv").is_dir() else iter(())
    for folder in sorted(p for p in vendors if p.is_dir() and p.name not in ("exports", "resources")):
        for path in _files(root, f"csv/{folder.name}"):
            _add_layout(catalog, compiler, path, folder.name)
    return catalog


def _resources(root: Path, folder: str, compiler: Compiler) -> dict[str, CompiledResource]:
    compiled = {}
    for path in _files(root, folder):
        relative = str(path.relative_to(root))
        compiled[path.stem] = CompiledResource(path.stem, _read(path, root, ResourceMapping), compiler, relative)
    return compiled


def _check_fields(compiled: CompiledMessage, export: ExportMapping, relative: str) -> None:
    unknown = sorted(name for name in compiled.used_fields() if name not in export.fields)
    if unknown:
        raise MappingFileError(relative, "produce", f"rules read fields the export does not declare: {unknown}")


def _add_layout(catalog: Catalog, compiler: Compiler, path: Path, vendor: str) -> None:
    relative = str(path.relative_to(catalog.root))
    layout = _read(path, catalog.root, VendorLayout)
    if layout.vendor != vendor or layout.export != path.stem:
        raise MappingFileError(relative, "vendor", f"must be vendor '{vendor}' and export '{path.stem}'")
    export = catalog.exports.get(layout.export)
    if export is None:
        raise MappingFileError(relative, "export", f"unknown export kind '{layout.export}'")
    mapped: set[str] = set()
    for n, column in enumerate(layout.columns):
        if column.field not in export.fields:
            raise MappingFileError(
                relative, f"columns[{n}].field", f"'{column.field}' is not a field of {layout.export}"
            )
        if column.field in mapped:
            raise MappingFileError(relative, f"columns[{n}].field", f"'{column.field}' is filled twice")
        if column.table is not None and column.table not in catalog.tables:
            raise MappingFileError(relative, f"columns[{n}].table", f"unknown code table '{column.table}'")
        mapped.add(column.field)
    missing = sorted(name for name, spec in export.fields.items() if spec.required and name not in mapped)
    if missing:
        raise MappingFileError(relative, "columns", f"required fields of {layout.export} are not mapped: {missing}")
    catalog.layouts[(vendor, layout.export)] = layout


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The gateway's own mappings (loaded once per process)."""
    return load_catalog(ROOT)


__all__ = ["ROOT", "Catalog", "default_catalog", "load_catalog"]
