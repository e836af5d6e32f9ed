"""Strict FHIR R4 validation of one resource given as parsed JSON.

The ``fhir.resources`` R4B models are lax (they coerce ``"yes"`` to ``true``, accept unknown codes, empty
objects and broken invariants), so the JSON is first walked alongside the models' field metadata with
strict rules (JSON types, primitive formats, empty and unknown elements, cardinality, required elements,
choice types, required bindings, invariants); then the model itself runs and any error it finds that the
walker did not already report is added. Every problem is reported at once, each with its FHIRPath.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, cast

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.types import FhirBase, FhirElementOrResourceBase
from pydantic import ValidationError

from gateway.errors import Issue, ValidationFailed
from gateway.fhir.invariants import Context, Invariant, invariants_for
from gateway.fhir.primitives import check_primitive

MAX_DEPTH = 64
_ABSTRACT_TYPES = frozenset({"Resource", "DomainResource"})
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}")
_PLAIN_KINDS: dict[object, str] = {bool: "boolean", int: "integer", str: "string", Decimal: "decimal"}


@dataclass(frozen=True, slots=True)
class _Field:
    """One JSON property of a model: ``kind`` is a primitive name, ``complex`` or ``resource``."""

    alias: str
    is_list: bool
    kind: str
    model: Any  # the sub-model class for a complex element
    enum: frozenset[str] | None
    required: bool
    choice: str | None  # the choice group (``deceased`` for ``deceasedBoolean``)
    partner: str | None  # ``_given`` for ``given`` and the reverse


@dataclass(frozen=True, slots=True)
class _Table:
    fields: dict[str, _Field]
    required: tuple[_Field, ...]
    required_choices: tuple[str, ...]
    is_resource: bool
    invariants: tuple[Invariant, ...]


_TABLES: dict[type[Any], _Table] = {}
_RESOURCE_MODELS: dict[str, type[Any]] = {}


def _unwrap(annotation: Any) -> tuple[bool, Any]:
    """Strip ``Optional`` and ``List``: whether it is a list, and the item annotation."""
    is_list = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Union or origin is types.UnionType:
            args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(args) != 1:
                return is_list, annotation
            annotation = args[0]
        elif origin is list:
            is_list, annotation = True, typing.get_args(annotation)[0]
        else:
            return is_list, annotation


def _kind(annotation: Any) -> tuple[str, Any]:
    if typing.get_origin(annotation) is Annotated:
        base, *markers = typing.get_args(annotation)
        names = [getattr(marker, "__visit_name__", None) for marker in markers]
        visit = next((name for name in names if isinstance(name, str)), None)
        return visit or ("uuid" if getattr(base, "__name__", "") == "UUID" else "string"), None
    if isinstance(annotation, type) and issubclass(annotation, FhirElementOrResourceBase):
        return "resource", None
    if isinstance(annotation, type) and issubclass(annotation, FhirBase):
        return "complex", annotation.get_model_klass()
    return _PLAIN_KINDS.get(annotation, "string"), None


def _build_field(alias: str, info: Any, choice_of: dict[str, str | None], aliases: set[str]) -> _Field:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    is_list, item = _unwrap(info.annotation)
    kind, model = _kind(item)
    enum = extra.get("enum_values")
    if isinstance(enum, list) and ("etc." in enum or "+" in enum):  # an open or cut list (Expression.language is
        enum = None  # extensible; Task.status is given as "draft | requested | received | accepted | +")
    partner = alias[1:] if alias.startswith("_") else f"_{alias}"
    return _Field(
        alias=alias,
        is_list=is_list,
        kind=kind,
        model=model,
        enum=frozenset(enum) if isinstance(enum, list) else None,
        required=bool(extra.get("element_required")) or info.is_required(),
        choice=choice_of.get(alias.lstrip("_")),
        partner=partner if partner in aliases else None,
    )


def _build_table(model: type[Any]) -> _Table:
    infos = {(info.alias or name): info for name, info in model.model_fields.items() if name != "fhir_comments"}
    extras = {
        alias: info.json_schema_extra for alias, info in infos.items() if isinstance(info.json_schema_extra, dict)
    }
    choice_of = {alias: cast(str | None, extra.get("one_of_many")) for alias, extra in extras.items()}
    required_choices = {str(extra["one_of_many"]) for extra in extras.values() if extra.get("one_of_many_required")}
    fields = {alias: _build_field(alias, info, choice_of, set(infos)) for alias, info in infos.items()}
    type_names = [vars(klass).get("__resource_type__") for klass in model.__mro__]
    invariants = [inv for name in type_names if isinstance(name, str) for inv in invariants_for(name)]
    return _Table(
        fields=fields,
        required=tuple(spec for spec in fields.values() if spec.required and not spec.alias.startswith("_")),
        required_choices=tuple(sorted(required_choices)),
        is_resource=bool(model.has_resource_base()),
        invariants=tuple(invariants),
    )


def _table(model: type[Any]) -> _Table:
    table = _TABLES.get(model)
    if table is None:
        table = _TABLES[model] = _build_table(model)
    return table


def _resource_model(name: str) -> type[Any] | None:
    """The R4B model of a concrete resource type, or None."""
    model = _RESOURCE_MODELS.get(name)
    if model is None and _TYPE_NAME.fullmatch(name) and name not in _ABSTRACT_TYPES:
        try:
            candidate: type[Any] = get_fhir_model_class(name)
        except ValueError:
            return None
        if candidate.has_resource_base() and candidate.get_resource_type() == name:
            model = _RESOURCE_MODELS[name] = candidate
    return model


def _describe(value: object) -> str:
    return "an array" if isinstance(value, list) else "an object" if isinstance(value, dict) else "a primitive value"


class _Walker:
    """Walks the JSON beside the model tables, collecting issues."""

    __slots__ = ("issues",)

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(self, code: str, details_code: str, path: str, message: str) -> None:
        self.issues.append(Issue("error", code, f"{path}: {message}", (path,), details_code))

    def resource(self, data: object, path: str, expected: str | None, container: Context | None, depth: int) -> Any:
        """Check a resource; ``path`` is empty at the top level. Returns its model when the type is known."""
        where = path or expected or "Resource"
        type_path = f"{path}.resourceType" if path else "resourceType"
        if not isinstance(data, dict):
            self.add("structure", "VAL-TYPE", where, f"a resource must be a JSON object, not {_describe(data)}")
            return None
        declared = data.get("resourceType")
        if not isinstance(declared, str):
            self.add("structure", "VAL-RESOURCE-TYPE", type_path, "resourceType is missing or not a string")
            return None
        model = _resource_model(declared)
        if model is None:
            self.add("invalid", "VAL-RESOURCE-TYPE", type_path, f"unknown resource type {declared[:64]!r}")
            return None
        if expected is not None and declared != expected:
            self.add("invalid", "VAL-RESOURCE-TYPE", type_path, f"expected a {expected} resource, got {declared}")
        context = Context(container.root, True) if container is not None else Context(data)
        self.element(data, _table(model), path or declared, context, depth + 1)
        return model

    def element(self, obj: dict[str, Any], table: _Table, path: str, ctx: Context, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.add("structure", "VAL-DEPTH", path, f"elements are nested more than {MAX_DEPTH} levels deep")
            return
        if not obj:
            self.add("structure", "VAL-EMPTY", path, "empty object: an element needs a value or children (ele-1)")
            return
        fields = table.fields
        choices: dict[str, set[str]] = {}
        for key, value in obj.items():
            spec = fields.get(key)
            if spec is None:
                if key != "resourceType" or not table.is_resource:
                    self.add("structure", "VAL-UNKNOWN-ELEMENT", f"{path}.{key}", f"unknown element {key!r}")
                continue
            if spec.choice is not None:
                choices.setdefault(spec.choice, set()).add(key.lstrip("_"))
            self.field(obj, spec, value, f"{path}.{key}", ctx, depth)
        for spec in table.required:
            if spec.alias not in obj and (spec.partner is None or spec.partner not in obj):
                self.add("required", "VAL-REQUIRED", f"{path}.{spec.alias}", "missing required element")
        for group, present in choices.items():
            if len(present) > 1:
                names = ", ".join(sorted(present))
                self.add("structure", "VAL-CHOICE", f"{path}.{group}[x]", f"only one of {names} is allowed")
        for group in table.required_choices:
            if group not in choices:
                self.add("required", "VAL-REQUIRED", f"{path}.{group}[x]", f"missing required element {group}[x]")
        for inv in table.invariants:
            for suffix in inv.check(obj, ctx):
                self.add("invariant", "VAL-INVARIANT", f"{path}{suffix}", f"{inv.key}: {inv.human}")

    def field(self, obj: dict[str, Any], spec: _Field, value: object, path: str, ctx: Context, depth: int) -> None:
        if value is None:
            self.add("structure", "VAL-NULL", path, "null is not allowed")
        elif not spec.is_list:
            if isinstance(value, list):
                self.add("structure", "VAL-CARDINALITY", path, "a single value is expected, not an array")
            else:
                self.value(spec, value, path, ctx, depth)
        elif not isinstance(value, list):
            self.add("structure", "VAL-CARDINALITY", path, f"an array is expected, not {_describe(value)}")
        elif not value:
            self.add("structure", "VAL-EMPTY", path, "empty array: omit the element instead")
        else:
            partner = obj.get(spec.partner) if spec.partner is not None else None
            paired = partner if isinstance(partner, list) else []
            if paired and len(paired) != len(value) and spec.alias.startswith("_"):
                self.add("structure", "VAL-CARDINALITY", path, f"must have as many items as {spec.partner}")
            for index, item in enumerate(value):
                if item is not None:
                    self.value(spec, item, f"{path}[{index}]", ctx, depth)
                elif index >= len(paired) or paired[index] is None:
                    self.add("structure", "VAL-NULL", f"{path}[{index}]", "null is only allowed opposite a value")

    def value(self, spec: _Field, value: object, path: str, ctx: Context, depth: int) -> None:
        if spec.kind == "complex":
            if isinstance(value, dict):
                self.element(value, _table(spec.model), path, ctx, depth + 1)
            else:
                self.add("structure", "VAL-TYPE", path, f"a JSON object is expected, not {_describe(value)}")
        elif spec.kind == "resource":
            self.resource(value, path, None, ctx if spec.alias == "contained" else None, depth)
        else:
            problem = check_primitive(spec.kind, value)
            if problem is not None:
                self.add(problem.code, problem.details_code, path, problem.message)
            elif spec.enum is not None and value not in spec.enum:
                allowed = ", ".join(sorted(spec.enum))
                self.add("code-invalid", "VAL-BINDING", path, f"{value!r} is not an allowed code ({allowed})")


_MODEL_CODES = {"missing": ("required", "VAL-REQUIRED"), "extra_forbidden": ("structure", "VAL-UNKNOWN-ELEMENT")}
_IDENTIFIER = re.compile(r"_?[A-Za-z][A-Za-z0-9_]*")


def _loc_path(root: str, loc: tuple[int | str, ...]) -> str:
    """A FHIRPath from a pydantic error location (aliases, indices as ``[i]``)."""
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "resource_type":
            path += ".resourceType"
        elif _IDENTIFIER.fullmatch(part) and "__" not in part:
            path += f".{part}"
    return path


def _related(first: str, second: str) -> bool:
    """Whether one path is the other or one of its ancestors."""
    short, long = sorted((first, second), key=len)
    return long == short or long.startswith((f"{short}.", f"{short}["))


def _model_issues(model: type[Any], data: dict[str, Any], root: str, known: list[Issue]) -> list[Issue]:
    """Errors of the ``fhir.resources`` model that the walker did not already report."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        found: list[Issue] = []
        for error in exc.errors(include_url=False, include_context=False, include_input=False):
            path = _loc_path(root, tuple(error["loc"]))
            code, details = _MODEL_CODES.get(error["type"], ("invalid", "VAL-MODEL"))
            found.append(Issue("error", code, f"{path}: {error['msg']}", (path,), details))
    except Exception as exc:  # the model may crash on input the walker already refused
        found = [Issue("error", "invalid", f"{root}: the resource could not be parsed ({exc})", (root,), "VAL-MODEL")]
    else:
        return []
    structural = [issue.expression[0] for issue in known if issue.code != "invariant"]
    return [issue for issue in found if not any(_related(issue.expression[0], path) for path in structural)]


def validate_resource(data: object, *, expected_type: str | None = None, model_pass: bool = True) -> dict[str, Any]:
    """Validate one FHIR R4 resource given as parsed JSON; return it unchanged, or raise ValidationFailed.

    ``model_pass=False`` skips the second opinion of the fhir.resources model (about two thirds of the cost): the
    ingest hot path uses it for resources built by mappings whose every shape the golden tests validate in full.
    """
    walker = _Walker()
    model = walker.resource(data, "", expected_type, None, 0)
    if model is None:
        raise ValidationFailed(walker.issues)
    resource = cast(dict[str, Any], data)
    if model_pass and not any(issue.details_code == "VAL-DEPTH" for issue in walker.issues):
        walker.issues.extend(_model_issues(model, resource, str(resource["resourceType"]), walker.issues))
    if walker.issues:
        raise ValidationFailed(walker.issues)
    return resource


__all__ = ["MAX_DEPTH", "validate_resource"]
