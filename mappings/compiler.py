"""Compiles validated mapping rules into closures once, at start-up, so mapping a record is only function calls.

A compiled rule is ``apply(scope, ctx, target, issues)``: it reads the scope, writes into ``target`` (a JSON dict
being built) and appends :class:`~mappings.issues.MapIssue` for values it could not map.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from adapters.source import Scope, Value
from mappings.issues import MapIssue, MappingFileError
from mappings.registry import CONDITIONS, TRANSFORMS, MapContext, MappingProblem
from mappings.schema import Call, CodeTable, Condition, Rule

Issues = list[MapIssue]
Apply = Callable[[Scope, MapContext, dict[str, Any], Issues], None]
Build = Callable[[Scope, MapContext, Issues], dict[str, Any] | None]
Test = Callable[[Scope, MapContext], bool]
_MISSING = object()


def json_copy(value: Any) -> Any:
    """A copy of JSON data (dicts, lists, scalars): tables and constants are shared, the resources built are not."""
    if isinstance(value, dict):
        return {key: json_copy(item) if isinstance(item, dict | list) else item for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) if isinstance(item, dict | list) else item for item in value]
    return value


def _target_setter(path: str) -> Callable[[dict[str, Any], Any], None]:
    """``a.b.c`` sets a nested key; a final ``[]`` appends to a list (a list value is appended element by element)."""
    append = path.endswith("[]")
    steps = (path[:-2] if append else path).split(".")
    head, last = steps[:-1], steps[-1]

    def put(target: dict[str, Any], value: Any) -> None:
        node = target
        for step in head:
            node = node.setdefault(step, {})
        if append:
            if isinstance(value, list):  # a transform that makes several elements (opening hours, members)
                node.setdefault(last, []).extend(value)
            else:
                node.setdefault(last, []).append(value)
        elif isinstance(value, dict) and isinstance(node.get(last), dict):
            node[last].update(value)
        else:
            node[last] = value

    return put


class Compiler:
    """Turns rules into closures, checking every name they use (transforms, conditions, tables, datatypes)."""

    def __init__(self, tables: dict[str, CodeTable], datatypes: dict[str, Sequence[Rule]]) -> None:
        self.tables = tables
        self.datatype_rules = datatypes
        self._datatypes: dict[str, Build] = {}

    # -- names ---------------------------------------------------------------------------------------------------
    def _transform(self, spec: str | Call, file: str, key: str) -> Callable[[Any, MapContext], Any]:
        name, args = (spec, {}) if isinstance(spec, str) else (spec.fn, spec.args)
        fn = TRANSFORMS.get(name)
        if fn is None:
            raise MappingFileError(file, key, f"unknown transform '{name}' (known: {', '.join(sorted(TRANSFORMS))})")
        return lambda value, ctx: fn(value, ctx, **args)

    def condition(self, spec: Condition | None, file: str, key: str) -> Test | None:
        if spec is None:
            return None
        fn = CONDITIONS.get(spec.fn)
        if fn is None:
            raise MappingFileError(file, key, f"unknown condition '{spec.fn}' (known: {', '.join(sorted(CONDITIONS))})")
        read = _reader(spec.source)
        args, negate = spec.args, spec.negate

        def test(scope: Scope, ctx: MapContext) -> bool:
            value, _location = read(scope)
            return bool(fn(value, ctx, **args)) != negate

        return test

    def _table(self, name: str, file: str, key: str) -> Callable[[Any, str | None, Issues], Any]:
        table = self.tables.get(name)
        if table is None:
            raise MappingFileError(file, key, f"unknown code table '{name}' (known: {', '.join(sorted(self.tables))})")
        entries = {(k.upper() if table.case_insensitive else k): v for k, v in table.map.items()}
        known = ", ".join(sorted(table.map)[:12])

        def lookup(raw: Any, location: str | None, issues: Issues) -> Any:
            code = str(raw).strip()
            found = entries.get(code.upper() if table.case_insensitive else code, _MISSING)
            if found is _MISSING:
                if table.unmapped == "error":
                    issues.append(MapIssue("MAP-CODE", f"'{code}' is not a code of {name} (known: {known})", location))
                    return None
                return code if table.unmapped == "keep" else None
            return json_copy(found) if isinstance(found, dict | list) else found

        return lookup

    def datatype(self, name: str, file: str, key: str) -> Build:
        if name not in self._datatypes:
            rules = self.datatype_rules.get(name)
            if rules is None:
                raise MappingFileError(file, key, f"unknown datatype mapping '{name}'")
            self._datatypes[name] = lambda scope, ctx, issues: None  # placeholder against recursion
            self._datatypes[name] = self.build(rules, f"datatypes/{name}.yaml", "rules")
        built = self._datatypes
        return lambda scope, ctx, issues: built[name](scope, ctx, issues)

    # -- rules ---------------------------------------------------------------------------------------------------
    def build(self, rules: Sequence[Rule], file: str, key: str) -> Build:
        """Closures for a list of rules that build one JSON object (None when nothing was mapped)."""
        appliers = [self.rule(rule, file, f"{key}[{n}]") for n, rule in enumerate(rules)]

        def run(scope: Scope, ctx: MapContext, issues: Issues) -> dict[str, Any] | None:
            target: dict[str, Any] = {}
            for apply in appliers:
                apply(scope, ctx, target, issues)
            return target or None

        return run

    def rule(self, rule: Rule, file: str, key: str) -> Apply:
        put = _target_setter(rule.to)
        test = self.condition(rule.when, file, f"{key}.when")
        value = self._value(rule, file, key)
        each = rule.each

        if each is not None:

            def apply_each(scope: Scope, ctx: MapContext, target: dict[str, Any], issues: Issues) -> None:
                for element in scope.each(each):
                    if test is not None and not test(element, ctx):
                        continue
                    result = value(element, ctx, issues)
                    if result is not None:
                        put(target, result)

            return apply_each

        def apply(scope: Scope, ctx: MapContext, target: dict[str, Any], issues: Issues) -> None:
            if test is not None and not test(scope, ctx):
                return
            result = value(scope, ctx, issues)
            if result is not None:
                put(target, result)

        return apply

    def _value(self, rule: Rule, file: str, key: str) -> Callable[[Scope, MapContext, Issues], Any]:
        if rule.rules is not None:
            nested = self.build(rule.rules, file, f"{key}.rules")
            return nested
        if rule.datatype is not None:
            mapped = self.datatype(rule.datatype, file, f"{key}.datatype")
            if rule.source is None:
                return mapped
            if not isinstance(rule.source, str):
                raise MappingFileError(file, f"{key}.from", "a datatype maps one source element")
            path = rule.source

            def first_element(scope: Scope, ctx: MapContext, issues: Issues) -> Any:
                elements = scope.each(path)
                if not elements:
                    if rule.required:
                        issues.append(MapIssue("MAP-REQUIRED", f"{path} is required", scope.location(path)))
                    return None
                return mapped(elements[0], ctx, issues)

            return first_element
        if rule.const is not None:
            const = rule.const
            return lambda scope, ctx, issues: json_copy(const) if isinstance(const, dict | list) else const
        read = _reader(rule.source)
        convert = self._transform(rule.transform, file, f"{key}.transform") if rule.transform is not None else None
        lookup = self._table(rule.table, file, f"{key}.table") if rule.table is not None else None
        required, default, source = rule.required, rule.default, rule.source
        sourceless = source is None

        def produce(scope: Scope, ctx: MapContext, issues: Issues) -> Any:
            raw, location = read(scope)
            if raw is None and not sourceless:
                if default is not None:
                    return default
                if required:
                    where = scope.location(source if isinstance(source, str) else _first_path(source))
                    issues.append(MapIssue("MAP-REQUIRED", f"{_describe(source)} is required", where))
                return None
            if convert is not None:
                try:
                    raw = convert(raw, ctx)
                except MappingProblem as problem:
                    issues.append(MapIssue(problem.code, problem.message, location))
                    return None
                if raw is None:
                    return default
            if lookup is not None:
                raw = lookup(raw, location, issues)
            return raw

        return produce


def _first_path(source: Any) -> str:
    if isinstance(source, list):
        return str(source[0])
    if isinstance(source, dict):
        return str(next(iter(source.values())))
    return str(source)


def _describe(source: Any) -> str:
    if isinstance(source, list):
        return " or ".join(source)
    if isinstance(source, dict):
        return ", ".join(source.values())
    return str(source)


def _reader(source: str | list[str] | dict[str, str] | None) -> Callable[[Scope], tuple[Any, str | None]]:
    """Reads a rule's source: one path, the first present of several, or named paths (a dict of raw values)."""
    if source is None:
        return lambda scope: (None, None)
    if isinstance(source, str):
        path = source

        def one(scope: Scope) -> tuple[Any, str | None]:
            found = scope.get(path)
            return (found.value, found.location) if found is not None else (None, None)

        return one
    if isinstance(source, list):
        paths = list(source)

        def first(scope: Scope) -> tuple[Any, str | None]:
            for candidate in paths:
                found = scope.get(candidate)
                if found is not None:
                    return found.value, found.location
            return None, None

        return first
    named = dict(source)

    def several(scope: Scope) -> tuple[Any, str | None]:
        values: dict[str, Any] = {}
        location: str | None = None
        for name, candidate in named.items():
            found: Value | None = scope.get(candidate)
            values[name] = found.value if found is not None else None
            if found is not None and location is None:
                location = found.location
        return (values if location is not None else None), location

    return several


__all__ = ["Apply", "Build", "Compiler", "Issues", "Test", "json_copy"]
