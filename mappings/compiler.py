"""Compiles validated mapping rules into closures once, at start-up, so mapping a record is only function calls.

A compiled rule is ``apply(scope, ctx, target, issues)``: it reads the scope, writes into ``target`` (a JSON dict
being built) and appends :class:`~mappings.issues.MapIssue` for values it could not map.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from operator import methodcaller
from typing import Any

from adapters.source import LazyValue, Scope, Value
from mappings.issues import MapIssue, MappingFileError
from mappings.registry import CONDITIONS, TRANSFORMS, MapContext, MappingProblem
from mappings.schema import Call, CodeTable, Condition, Rule

Issues = list[MapIssue]
Apply = Callable[[Scope, MapContext, dict[str, Any], Issues], None]
Build = Callable[[Scope, MapContext, Issues], dict[str, Any] | None]
Test = Callable[[Scope, MapContext], bool]
Read = Callable[[Scope], Value | None]
Lookup = Callable[[Any, Value | None, Issues], Any]
_MISSING = object()


def json_copy(value: Any) -> Any:
    """A copy of JSON data (dicts, lists, scalars): tables and constants are shared, the resources built are not."""
    if isinstance(value, dict):
        return {key: json_copy(item) if isinstance(item, dict | list) else item for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) if isinstance(item, dict | list) else item for item in value]
    return value


def json_copier(value: Any) -> Callable[[], Any]:
    """A function that makes fresh copies of one JSON constant, the same as ``json_copy(value)`` gives, faster:
    how deep the constant is, and where its dicts and lists are, is worked out once, here."""
    nested: list[tuple[Any, Callable[[], Any]]]
    if isinstance(value, dict):
        nested = [(key, json_copier(item)) for key, item in value.items() if isinstance(item, dict | list)]
    elif isinstance(value, list):
        nested = [(index, json_copier(item)) for index, item in enumerate(value) if isinstance(item, dict | list)]
    else:
        return lambda: value
    shallow: Callable[[], Any] = value.copy
    if not nested:
        return shallow  # only scalars inside: a shallow copy is a full one

    def copy() -> Any:
        made = shallow()
        for key, make in nested:
            made[key] = make()
        return made

    return copy


Put = Callable[[dict[str, Any], Any], None]


def _target_setter(path: str) -> Put:
    """``a.b.c`` sets a nested key; a final ``[]`` appends to a list (a list value is appended element by element).

    A dict set where a dict already is merges into it. The setter is made for its path's shape (nested or not,
    appending or not), since it runs for every value mapped.
    """
    append = path.endswith("[]")
    steps = (path[:-2] if append else path).split(".")
    head, last = tuple(steps[:-1]), steps[-1]

    def parent(target: dict[str, Any]) -> dict[str, Any]:
        node = target
        for step in head:
            node = node.setdefault(step, {})
        return node

    def add(target: dict[str, Any], value: Any) -> None:
        node = parent(target) if head else target
        items = node.get(last)
        if items is None:
            items = node[last] = []
        if isinstance(value, list):  # a transform that makes several elements (opening hours, members)
            items.extend(value)
        else:
            items.append(value)

    def put(target: dict[str, Any], value: Any) -> None:
        node = parent(target) if head else target
        if isinstance(value, dict):
            existing = node.get(last)
            if isinstance(existing, dict):
                existing.update(value)
                return
        node[last] = value

    return add if append else put


class Compiler:
    """Turns rules into closures, checking every name they use (transforms, conditions, tables, datatypes).

    What can be decided from the rule alone is decided here, once: which reader a source needs, whether a
    transform has arguments, how a constant is copied, the shape of the target path. A source value's location is
    only asked for when an issue is made about it.
    """

    def __init__(self, tables: dict[str, CodeTable], datatypes: dict[str, Sequence[Rule]]) -> None:
        self.tables = tables
        self.datatype_rules = datatypes
        self._datatypes: dict[str, Build] = {}
        self._compiling: set[str] = set()  # datatypes being compiled (one that contains itself is looked up late)

    # -- names ---------------------------------------------------------------------------------------------------
    def _transform(self, spec: str | Call, file: str, key: str) -> Callable[[Any, MapContext], Any]:
        name, args = (spec, {}) if isinstance(spec, str) else (spec.fn, spec.args)
        fn = TRANSFORMS.get(name)
        if fn is None:
            raise MappingFileError(file, key, f"unknown transform '{name}' (known: {', '.join(sorted(TRANSFORMS))})")
        return partial(fn, **args) if args else fn

    def condition(self, spec: Condition | None, file: str, key: str) -> Test | None:
        if spec is None:
            return None
        fn = CONDITIONS.get(spec.fn)
        if fn is None:
            raise MappingFileError(file, key, f"unknown condition '{spec.fn}' (known: {', '.join(sorted(CONDITIONS))})")
        read = _reader(spec.source)
        check = partial(fn, **spec.args) if spec.args else fn
        negate = spec.negate

        def test(scope: Scope, ctx: MapContext) -> bool:
            found = read(scope)
            return bool(check(None if found is None else found.value, ctx)) != negate

        return test

    def _table(self, name: str, file: str, key: str) -> Lookup:
        table = self.tables.get(name)
        if table is None:
            raise MappingFileError(file, key, f"unknown code table '{name}' (known: {', '.join(sorted(self.tables))})")
        entries = {(k.upper() if table.case_insensitive else k): _shared(v) for k, v in table.map.items()}
        known = ", ".join(sorted(table.map)[:12])
        case_insensitive, unmapped = table.case_insensitive, table.unmapped

        def lookup(raw: Any, found: Value | None, issues: Issues) -> Any:
            code = str(raw).strip()
            entry = entries.get(code.upper() if case_insensitive else code, _MISSING)
            if entry is _MISSING:
                if unmapped == "error":
                    message = f"'{code}' is not a code of {name} (known: {known})"
                    issues.append(MapIssue("MAP-CODE", message, _location(found)))
                    return None
                return code if unmapped == "keep" else None
            return entry.make() if isinstance(entry, _Copy) else entry

        return lookup

    def datatype(self, name: str, file: str, key: str) -> Build:
        if name in self._compiling:  # the datatype contains itself: find its closure when it runs
            built = self._datatypes
            return lambda scope, ctx, issues: built[name](scope, ctx, issues)
        if name not in self._datatypes:
            rules = self.datatype_rules.get(name)
            if rules is None:
                raise MappingFileError(file, key, f"unknown datatype mapping '{name}'")
            self._compiling.add(name)
            try:
                self._datatypes[name] = self.build(rules, f"datatypes/{name}.yaml", "rules")
            finally:
                self._compiling.discard(name)
        return self._datatypes[name]

    # -- rules ---------------------------------------------------------------------------------------------------
    def build(self, rules: Sequence[Rule], file: str, key: str) -> Build:
        """Closures for a list of rules that build one JSON object (None when nothing was mapped)."""
        appliers = tuple(self.rule(rule, file, f"{key}[{n}]") for n, rule in enumerate(rules))

        def run(scope: Scope, ctx: MapContext, issues: Issues) -> dict[str, Any] | None:
            target: dict[str, Any] = {}
            for apply in appliers:
                apply(scope, ctx, target, issues)
            return target or None

        return run

    def rule(self, rule: Rule, file: str, key: str) -> Apply:
        """A rule as a closure that writes its value (if any) into the target, for the scope or each element."""
        write = self._writer(rule, _target_setter(rule.to), file, key)
        test = self.condition(rule.when, file, f"{key}.when")
        each = rule.each

        if each is not None:

            def apply_each(scope: Scope, ctx: MapContext, target: dict[str, Any], issues: Issues) -> None:
                for element in scope.each(each):
                    if test is None or test(element, ctx):
                        write(element, ctx, target, issues)

            return apply_each

        if test is not None:

            def apply_when(scope: Scope, ctx: MapContext, target: dict[str, Any], issues: Issues) -> None:
                if test(scope, ctx):
                    write(scope, ctx, target, issues)

            return apply_when

        return write

    def _writer(self, rule: Rule, put: Put, file: str, key: str) -> Apply:
        """What a rule writes, wherever it comes from: nested rules, a datatype, a constant or the source."""
        if rule.rules is not None:
            return _put_made(self.build(rule.rules, file, f"{key}.rules"), put)
        if rule.datatype is not None:
            mapped = self.datatype(rule.datatype, file, f"{key}.datatype")
            if rule.source is None:
                return _put_made(mapped, put)
            if not isinstance(rule.source, str):
                raise MappingFileError(file, f"{key}.from", "a datatype maps one source element")
            return _put_made(_first_element(mapped, rule.source, rule.required), put)
        if rule.const is not None:
            return _put_const(rule.to, put, _shared(rule.const))
        return self._produce(rule, put, file, key)

    def _produce(self, rule: Rule, put: Put, file: str, key: str) -> Apply:
        """A value read from the source, then transformed and looked up in a code table (each when asked)."""
        read = _reader(rule.source)
        convert = self._transform(rule.transform, file, f"{key}.transform") if rule.transform is not None else None
        lookup = self._table(rule.table, file, f"{key}.table") if rule.table is not None else None
        required, default, source = rule.required, rule.default, rule.source
        sourceless = source is None

        def produce(scope: Scope, ctx: MapContext, target: dict[str, Any], issues: Issues) -> None:
            found = read(scope)
            raw = None if found is None else found.value
            if raw is None and not sourceless:
                if default is not None:
                    put(target, default)
                elif required:
                    where = scope.location(source if isinstance(source, str) else _first_path(source))
                    issues.append(MapIssue("MAP-REQUIRED", f"{_describe(source)} is required", where))
                return
            if convert is not None:
                try:
                    raw = convert(raw, ctx)
                except MappingProblem as problem:
                    at = _location(found)
                    if problem.part is not None and isinstance(source, dict) and problem.part in source:
                        at = scope.location(source[problem.part])
                    issues.append(MapIssue(problem.code, problem.message, at))
                    return
                if raw is None:
                    if default is not None:
                        put(target, default)
                    return
            if lookup is not None:
                raw = lookup(raw, found, issues)
            if raw is not None:
                put(target, raw)

        return produce


def _put_made(make: Build, put: Put) -> Apply:
    """A rule whose value is an object built by rules (nested, or a datatype's): written when anything was mapped."""

    def write(scope: Scope, ctx: MapContext, target: dict[str, Any], issues: Issues) -> None:
        made = make(scope, ctx, issues)
        if made is not None:
            put(target, made)

    return write


def _first_element(mapped: Build, path: str, required: bool) -> Build:
    """A datatype mapped on the first element at ``path`` (a field's first repetition)."""

    def first_element(scope: Scope, ctx: MapContext, issues: Issues) -> dict[str, Any] | None:
        elements = scope.each(path)
        if not elements:
            if required:
                issues.append(MapIssue("MAP-REQUIRED", f"{path} is required", scope.location(path)))
            return None
        return mapped(elements[0], ctx, issues)

    return first_element


def _put_const(to: str, put: Put, const: Any) -> Apply:
    """A rule that always writes the same constant (the commonest rule of all)."""
    if isinstance(const, _Copy):
        make = const.make
        return lambda scope, ctx, target, issues: put(target, make())
    if "." not in to and not to.endswith("[]"):  # a plain key and a scalar: nothing to merge nor append to

        def set_key(scope: Scope, ctx: MapContext, target: dict[str, Any], issues: Issues) -> None:
            target[to] = const

        return set_key
    return lambda scope, ctx, target, issues: put(target, const)


class _Copy:
    """A JSON constant with dicts or lists inside: each use gets its own copy, ``make()`` (see :func:`json_copier`)."""

    __slots__ = ("make",)

    def __init__(self, value: Any) -> None:
        self.make = json_copier(value)


def _shared(value: Any) -> Any:
    """A constant as rules may hand it out: scalars as they are, dicts and lists as a :class:`_Copy`."""
    return _Copy(value) if isinstance(value, dict | list) else value


def _location(found: Value | None) -> str | None:
    return None if found is None else found.location


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


def _nothing(_scope: Scope) -> None:
    return None


def _location_of(found: Value) -> str:
    return found.location


def _reader(source: str | list[str] | dict[str, str] | None) -> Read:
    """Reads a rule's source: one path, the first present of several, or named paths.

    Named paths give a Value holding the dict of their raw values (None for the absent ones), located where the
    first present one is; None when none is present.
    """
    if source is None:
        return _nothing
    if isinstance(source, str):
        read: Read = methodcaller("get", source)  # scope.get(source), without a Python frame
        return read
    if isinstance(source, list):
        paths = tuple(source)

        def first(scope: Scope) -> Value | None:
            for candidate in paths:
                found = scope.get(candidate)
                if found is not None:
                    return found
            return None

        return first
    named = tuple(source.items())

    def several(scope: Scope) -> Value | None:
        values: dict[str, Any] = {}
        first: Value | None = None
        for name, candidate in named:
            found = scope.get(candidate)
            if found is None:
                values[name] = None
            else:
                values[name] = found.value
                if first is None:
                    first = found
        return None if first is None else LazyValue(values, _location_of, first)

    return several


__all__ = ["Apply", "Build", "Compiler", "Issues", "Test", "json_copier", "json_copy"]
