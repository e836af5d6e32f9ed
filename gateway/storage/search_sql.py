"""Translate parsed search filters into SQL over the resource table and the search index tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, literal, not_, or_, select, true
from sqlalchemy.sql.expression import Exists

from gateway.errors import InvalidRequest
from gateway.fhir.dates import DateFormatError, parse_range
from gateway.fhir.query import DATE_PREFIXES, Filter
from gateway.fhir.searchparams import SearchParam, param
from gateway.storage.indexer import normalise, parse_reference
from gateway.storage.store import INDEX, RESOURCE
from security.protect import BlindKind, Protector, installed

INSTANT_WIDTH = timedelta(seconds=1)
FAR_PAST = datetime(1, 1, 1)
FAR_FUTURE = datetime(9999, 12, 31)


def _bad(f: Filter, message: str) -> InvalidRequest:
    return InvalidRequest(f"{f.name}: {message}", expression=f"parameter:{f.name}", code="API-SEARCH-VALUE")


def _split_prefix(raw: str) -> tuple[str, str]:
    if len(raw) > 2 and raw[:2] in DATE_PREFIXES and not raw[:2].isdigit():
        return raw[:2], raw[2:]
    return "eq", raw


def date_condition(low: Any, high: Any, raw: str, zone: tzinfo, *, instant: bool, f: Filter) -> ColumnElement[bool]:
    """Compare a stored range ``[low, high]`` with a prefixed FHIR date value (R4 §3.1.1.4.2 range semantics)."""
    prefix, value = _split_prefix(raw)
    try:
        q_low, q_high = parse_range(value, zone)
    except DateFormatError as exc:
        raise _bad(f, str(exc)) from exc
    eq = and_(low >= q_low, high <= q_high)
    conditions: dict[str, ColumnElement[bool]] = {
        "eq": eq,
        "ne": not_(eq),
        "gt": high > q_high,
        "ge": high >= q_low,
        "lt": low < q_low,
        "le": low <= q_high,
        "sa": low > q_high,
        "eb": high < q_low,
        "ap": and_(low <= q_high, high >= q_low),
    }
    condition = conditions[prefix]
    if instant and prefix in ("ge", "gt", "ap"):
        # An instant spans at most a second, so its low bound is near its high bound: lets the index range-scan.
        # The test on ``high`` is asked only of the rows starting within that second of the bound (for the others
        # ``low`` answers, as high >= low): an index holding ``low`` but not ``high`` then reads no table row.
        bound = q_low if prefix != "gt" else q_high
        by_low = low > bound if prefix == "gt" else low >= bound
        decided = or_(by_low, high > bound if prefix == "gt" else high >= bound)
        condition = (
            and_(low >= bound - INSTANT_WIDTH, decided, low <= q_high)
            if prefix == "ap"
            else and_(low >= bound - INSTANT_WIDTH, decided)
        )
    return condition


def _token_condition(table: Any, raw: str) -> ColumnElement[bool]:
    if "|" not in raw:
        return table.c.code == raw  # type: ignore[no-any-return]
    system, code = raw.split("|", 1)
    if not system:
        return and_(table.c.system.is_(None), table.c.code == code)
    if not code:
        return table.c.system == system  # type: ignore[no-any-return]
    return and_(table.c.system == system, table.c.code == code)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _string_condition(table: Any, raw: str, modifier: str | None) -> ColumnElement[bool]:
    if modifier == "exact":
        return table.c.exact == raw  # type: ignore[no-any-return]
    needle = _escape_like(normalise(raw))
    pattern = f"%{needle}%" if modifier == "contains" else f"{needle}%"
    return table.c.value.like(pattern, escape="\\")  # type: ignore[no-any-return]


def _reference_condition(table: Any, spec: SearchParam, raw: str, modifier: str | None, f: Filter) -> Any:
    if spec.type == "uri" or ("|" in raw and "://" in raw):
        return table.c.url == raw.split("|", 1)[0]
    if modifier and modifier not in spec.targets:
        raise _bad(f, f"{spec.resource_type}.{spec.name} cannot refer to {modifier}")
    target_type, target_id = parse_reference(raw)
    if target_type is None:
        if "/" in raw or ":" in raw:
            return table.c.url == raw
        return and_(table.c.target_id == raw, table.c.target_type == modifier) if modifier else table.c.target_id == raw
    return and_(table.c.target_type == target_type, table.c.target_id == target_id)


def _number_condition(table: Any, raw: str, f: Filter) -> Any:
    prefix, value = _split_prefix(raw)
    number_text, _, unit = value.partition("|")
    try:
        number = float(number_text)
    except ValueError as exc:
        raise _bad(f, f"{number_text!r} is not a number") from exc
    column = table.c.value
    conditions = {
        "eq": column == number,
        "ne": column != number,
        "gt": column > number,
        "lt": column < number,
        "ge": column >= number,
        "le": column <= number,
        "sa": column > number,
        "eb": column < number,
        "ap": and_(column >= number * 0.9, column <= number * 1.1),
    }
    condition = conditions[prefix]
    if unit:
        system, _, code = unit.rpartition("|")
        condition = and_(condition, table.c.code == code)
        if system:
            condition = and_(condition, table.c.system == system)
    return condition


def value_condition(table: Any, spec: SearchParam, raw: str, modifier: str | None, zone: tzinfo, f: Filter) -> Any:
    """One OR-ed value of a filter, as a condition on an index table row."""
    kind = spec.index_kind
    if kind == "token":
        return _token_condition(table, raw)
    if kind == "date":
        return date_condition(table.c.low, table.c.high, raw, zone, instant=spec.instant, f=f)
    if kind == "string":
        return _string_condition(table, raw, modifier)
    if kind == "reference":
        return _reference_condition(table, spec, raw, modifier, f)
    return _number_condition(table, raw, f)


def _blinded(spec: SearchParam) -> tuple[Protector, BlindKind] | None:
    """The protector and how the parameter is blinded, for parameters holding direct identifiers (else None)."""
    protector = installed()
    kind = protector.blind_kind(spec.resource_type, spec.name) if protector is not None else None
    return (protector, kind) if protector is not None and kind is not None else None


def index_table(spec: SearchParam) -> Any:
    """The index table holding the parameter's rows (a blind birth date lives in the token table)."""
    blinded = _blinded(spec)
    return INDEX["token"] if blinded is not None and blinded[1] == "date" else INDEX[spec.index_kind]


def _blind_condition(
    table: Any, spec: SearchParam, blinded: tuple[Protector, BlindKind], raw: str, modifier: str | None, f: Filter
) -> Any:
    """One value of a protected parameter, compared through its blind index (the searched value is HMACed the way
    the indexer HMACs stored values): exact tokens, whole words, exact dates."""
    protector, kind = blinded
    rtype, name = spec.resource_type, spec.name
    if kind == "token":
        system, bar, code = raw.partition("|") if "|" in raw else ("", "", raw)
        if bar and not code:
            return table.c.system == system
        condition = table.c.code.in_(protector.token_codes(rtype, name, code))
        if bar:
            return and_(table.c.system.is_(None) if not system else table.c.system == system, condition)
        return condition
    if kind == "words":
        if modifier == "contains":
            raise _bad(f, "names and addresses are stored encrypted: search whole words, not :contains")
        if modifier == "exact":
            return table.c.exact == protector.blind_exact(rtype, name, raw)
        blind = protector.blind_phrase(rtype, name, raw)
        if blind is None:
            raise _bad(f, "a word is needed")
        return table.c.value == blind
    prefix, value = _split_prefix(raw)
    if prefix != "eq":
        raise _bad(f, "the birth date is stored encrypted: only an exact date can be searched (no prefix, no range)")
    try:
        parse_range(value, UTC)
    except DateFormatError as exc:
        raise _bad(f, str(exc)) from exc
    return table.c.code == protector.blind_date(rtype, name, value)


def _check_modifier(spec: SearchParam, modifier: str | None, f: Filter) -> None:
    if modifier is None:
        return
    if spec.index_kind == "string" and modifier in ("exact", "contains"):
        return
    if spec.type == "reference" and modifier in spec.targets:
        return
    raise _bad(f, f"modifier ':{modifier}' is not supported for this {spec.type} parameter")


def _row_condition(spec: SearchParam, f: Filter, zone: tzinfo, values: Sequence[str]) -> tuple[Any, Any]:
    """The index table and the condition its row must meet (any of the OR-ed values; owner and param apart)."""
    modifier = None if f.modifier in ("not", "missing") else f.modifier
    _check_modifier(spec, modifier, f)
    blinded = _blinded(spec)
    if blinded is not None:
        table = index_table(spec)
        ors = [_blind_condition(table, spec, blinded, v, modifier, f) for v in values if v != ""]
    else:
        table = INDEX[spec.index_kind]
        ors = [value_condition(table, spec, v, modifier, zone, f) for v in values if v != ""]
    if not ors:
        raise _bad(f, "a value is needed")
    return table, or_(*ors)


def ids_subquery(spec: SearchParam, f: Filter, zone: tzinfo, values: Sequence[str] | None = None) -> Select[Any]:
    """``SELECT rid`` of the resources of ``spec.resource_type`` matching the filter's values."""
    table, condition = _row_condition(spec, f, zone, values if values is not None else f.values)
    return select(table.c.rid).where(table.c.res_type == spec.resource_type, table.c.param == spec.name, condition)


# Which rows of a resource-table alias the caller may see: None (every row) or a condition on that alias.
Scope = Callable[[Any], ColumnElement[bool] | None]


def _ids_of(rids: Select[Any], scope: Scope | None = None) -> Select[Any]:
    """The FHIR ids of the (visible, not deleted) resources with these rids (references name targets by id)."""
    owner = RESOURCE.alias()
    query = select(owner.c.res_id).where(owner.c.rid.in_(rids), owner.c.deleted.is_(False))
    visible = scope(owner) if scope is not None else None
    return query.where(visible) if visible is not None else query


def _chain_subquery(f: Filter, zone: tzinfo, scope: Scope | None = None) -> Select[Any]:
    """Ids of the first type in the chain whose references lead, hop by hop, to resources matching the filter.

    Every hop only passes through resources the caller may see (``scope``): a chain must not probe the content of
    another tenant's resources through a reference that happens to point there."""
    assert f.param is not None
    last_hop = f.chain[-1]
    ref = INDEX["reference"]
    inner_parts = []
    for target_type in last_hop.target_types:
        spec = param(target_type, f.param.name)
        if spec is None:
            continue
        matching = _ids_of(ids_subquery(spec, f, zone), scope)
        inner_parts.append(and_(ref.c.target_type == target_type, ref.c.target_id.in_(matching)))
    current = select(ref.c.rid).where(
        ref.c.res_type == last_hop.param.resource_type, ref.c.param == last_hop.param.name, or_(*inner_parts)
    )
    for hop in reversed(f.chain[:-1]):
        alias = ref.alias()
        current = select(alias.c.rid).where(
            alias.c.res_type == hop.param.resource_type,
            alias.c.param == hop.param.name,
            alias.c.target_type.in_(hop.target_types),
            alias.c.target_id.in_(_ids_of(current, scope)),
        )
    return current


def filter_condition(f: Filter, zone: tzinfo, *, driver: bool, owner: Any = None, scope: Scope | None = None) -> Any:
    """The condition for one filter: an IN on the resource table (driver) or an EXISTS probe correlated to
    ``owner`` (the rid column of the rows being walked: the resource table's, or the driving index's). ``scope``
    limits chained parameters to resources the caller may see."""
    owner = RESOURCE.c.rid if owner is None else owner
    if f.special is not None and f.modifier == "missing":  # every resource has an id and a lastUpdated
        return false() if f.values[0] == "true" else true()
    if f.special == "_id":
        return RESOURCE.c.res_id.in_([v for v in f.values if v])
    if f.special == "_lastUpdated":
        column = RESOURCE.c.last_updated
        return or_(*(date_condition(column, column, v, zone, instant=False, f=f) for v in f.values))
    assert f.param is not None
    if f.chain:
        return owner.in_(_chain_subquery(f, zone, scope))
    spec = f.param
    if f.modifier == "missing":
        if f.values[0] not in ("true", "false"):
            raise _bad(f, ":missing takes true or false")
        table = index_table(spec)
        any_row = _correlated(table, spec, owner)
        return not_(any_row) if f.values[0] == "true" else any_row
    if f.modifier == "not":
        if spec.type != "token":
            raise _bad(f, ":not applies to token parameters only")
        table, condition = _row_condition(spec, f, zone, f.values)
        return not_(_correlated(table, spec, owner, condition))
    if driver:
        return RESOURCE.c.rid.in_(ids_subquery(spec, f, zone))
    table, condition = _row_condition(spec, f, zone, f.values)
    return _correlated(table, spec, owner, condition)


def _correlated(table: Any, spec: SearchParam, owner: Any, condition: Any = None) -> Exists:
    """A probe of the candidate row's own index rows (the owner index ``rid, param``), one per candidate."""
    where = [table.c.rid == owner, table.c.param == spec.name]
    if condition is not None:
        where.append(condition)
    return exists(select(literal(1)).select_from(table).where(*where))


def instant_range(table: Any, filters: Sequence[Filter], zone: tzinfo) -> list[ColumnElement[bool]]:
    """Several single-valued filters on the same instant parameter, as conditions on one date index row."""
    spec = filters[0].param
    assert spec is not None
    parts = [date_condition(table.c.low, table.c.high, f.values[0], zone, instant=True, f=f) for f in filters]
    return [table.c.res_type == spec.resource_type, table.c.param == spec.name, *parts]


def combined_date_condition(filters: Sequence[Filter], zone: tzinfo) -> ColumnElement[bool]:
    """The resources whose instant parameter falls in the range the filters draw (an index range scan)."""
    table = INDEX["date"]
    return RESOURCE.c.rid.in_(select(table.c.rid).where(*instant_range(table, filters, zone)))


def selectivity_rank(f: Filter) -> int:
    """Lower is more selective: the most selective filter drives the query, the others are checked per row."""
    if f.special == "_id" or f.chain:
        return 0
    if f.modifier in ("missing", "not"):
        return 9
    if f.param is not None and f.param.type == "reference":
        return 1
    if f.param is not None and f.param.name == "identifier":
        return 1
    if f.param is not None and f.param.type == "date":
        return 2
    if f.param is not None and f.param.type == "string":
        return 3
    return 5


def sort_expression(resource_type: str, name: str, spec: SearchParam | None) -> Any:
    """A scalar sort key per resource (missing values sort last in ascending order)."""
    if name == "_id":
        return RESOURCE.c.res_id
    if name == "_lastUpdated":
        return RESOURCE.c.last_updated
    assert spec is not None
    if _blinded(spec) is not None:
        raise InvalidRequest(
            f"_sort: {name} is stored encrypted and cannot be sorted on", expression="parameter:_sort",
            code="API-SEARCH-VALUE",
        )  # fmt: skip
    table = INDEX[spec.index_kind]
    column = table.c[{"date": "low", "string": "value", "token": "code"}[spec.index_kind]]
    sentinel: Any = FAR_FUTURE if spec.index_kind == "date" else "\uffff"
    key = select(func.min(column)).where(table.c.rid == RESOURCE.c.rid, table.c.param == spec.name).scalar_subquery()
    return func.coalesce(key, sentinel)


__all__ = [
    "FAR_FUTURE",
    "FAR_PAST",
    "combined_date_condition",
    "date_condition",
    "filter_condition",
    "ids_subquery",
    "selectivity_rank",
    "sort_expression",
]
