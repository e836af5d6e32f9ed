"""How a Slot search runs: on ``search_slot`` (one row per Slot), with the Slot's context answered by the directory.

Every Slot search goes through here, the SAS INT_R04 query and the coordinators' searches among them:

- ``start``, ``status`` and TRE_R314 slot types (``_security``) are columns of ``search_slot``;
- ``schedule``, ``schedule.actor[:Type].identifier`` (the SAS names practitioners by idNat_PS), ``address-city``,
  ``address-postalcode`` and ``near`` become the set of Schedules they allow, read from the directory;
- any other filter is probed per candidate row, as in every search.

Matches come in start order (``_sort=start`` or ``-start``; the default when the search has a ``start`` filter, by id
otherwise, as any search), with ``(start, row key)`` as the paging key, so a page of the next free SNP slots walks
``ix_slot_status`` in order and stops when it is full.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, false, or_

from gateway.capacity.directory import EARTH_RADIUS_KM, Directory, Key
from gateway.errors import InvalidRequest
from gateway.fhir.query import Filter, SearchRequest
from gateway.fhir.searchparams import SearchParam
from gateway.storage.indexer import normalise
from gateway.storage.one_of import one_of
from gateway.storage.references import parse_reference
from gateway.storage.search_sql import Scope, date_condition, filter_condition, sort_expression
from gateway.storage.slot_rows import CODED_PARAMS, SLOT_TYPE_SYSTEM, codes_needle, kind_condition
from gateway.storage.store import INDEX, RESOURCE

SLOT: Table = INDEX["slot"]
NEAR_UNITS = {"km": 1.0, "m": 0.001, "[mi_i]": 1.609344, "mi": 1.609344}
NEAR_DEFAULT_KM = 10.0
NEAR_MAX_KM = 500.0


def _bad(f: Filter, message: str) -> InvalidRequest:
    return InvalidRequest(f"{f.name}: {message}", expression=f"parameter:{f.name}", code="API-SEARCH-VALUE")


def _plain(f: Filter) -> bool:
    return not f.chain and f.modifier is None and f.special is None


def _is_start(f: Filter) -> bool:
    return _plain(f) and f.param is not None and f.param.name == "start"


def _is_status(f: Filter) -> bool:
    return _plain(f) and f.param is not None and f.param.name == "status" and all("|" not in v for v in f.values)


def _slot_type_codes(f: Filter) -> list[str] | None:
    """``_security=<TRE_R314>|SNP[,...]``: the slot types asked for; None if any value is of another system."""
    if not _plain(f) or f.param is None or f.param.name != "_security":
        return None
    codes = []
    for value in f.values:
        system, bar, code = value.partition("|")
        if not bar or system != SLOT_TYPE_SYSTEM or not code or " " in code:
            return None
        codes.append(code)
    return codes


def _actor_identifier_chain(f: Filter) -> tuple[str, ...] | None:
    """``schedule.actor[:Type].identifier``: the actor types it may name; None for any other filter."""
    if f.modifier is not None or f.param is None or f.param.name != "identifier" or len(f.chain) != 2:
        return None
    first, second = f.chain
    if (first.param.resource_type, first.param.name) != ("Slot", "schedule"):
        return None
    if (second.param.resource_type, second.param.name) != ("Schedule", "actor"):
        return None
    return second.target_types


def _visible_schedules(directory: Directory, ids: set[str], visibility: Any) -> set[str]:
    return {i for i in ids if i in directory.schedules and visibility.allows(directory.schedules[i].tenant)}


def _by_identifier(f: Filter, types: tuple[str, ...], directory: Directory, visibility: Any) -> set[str]:
    actors: list[Key] = []
    for value in f.values:
        if not value:
            continue
        system, bar, code = value.partition("|") if "|" in value else ("", "", value)
        if not code:
            raise _bad(f, "an identifier value is needed after '|'")
        found = directory.actors_with_identifier(system if bar else None, code, types)
        actors.extend(k for k in found if visibility.allows(directory.resources[k].tenant))
    return _visible_schedules(directory, directory.schedules_of(actors), visibility)


def parse_near(f: Filter, raw: str) -> tuple[float, float, float]:
    """``latitude|longitude[|distance[|unit]]`` (FHIR ``near``): unit km (default), m or [mi_i]."""
    parts = raw.split("|")
    if len(parts) < 2 or len(parts) > 4:
        raise _bad(f, "expected latitude|longitude|distance|unit, e.g. 48.1173|-1.6778|10|km")
    try:
        latitude, longitude = float(parts[0]), float(parts[1])
        distance = float(parts[2]) if len(parts) > 2 and parts[2] else NEAR_DEFAULT_KM
    except ValueError as exc:
        raise _bad(f, "latitude, longitude and distance must be decimal numbers (a dot for decimals)") from exc
    unit = parts[3] if len(parts) == 4 and parts[3] else "km"
    if unit not in NEAR_UNITS:
        raise _bad(f, f"unit {unit!r} is not one of {', '.join(NEAR_UNITS)}")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise _bad(f, "latitude must be within -90..90 and longitude within -180..180")
    km = distance * NEAR_UNITS[unit]
    if not 0 <= km <= NEAR_MAX_KM:
        raise _bad(f, f"the distance must be between 0 and {NEAR_MAX_KM:g} km")
    return latitude, longitude, km


PLACE_MEMO_MAX = 4096  # place answers a directory keeps (distinct parameter values), beyond which it recomputes
PLACE_MEMO_IDS = 200_000  # and Schedule ids in them, all answers together


def _by_place(f: Filter, spec: SearchParam, directory: Directory, visibility: Any) -> set[str]:
    """Schedules whose place matches any of the filter's values (string parameters: starts with, or ``:exact``).

    The answer depends on the directory and the question only: each directory keeps it (``Directory.memo``, at
    most :data:`PLACE_MEMO_MAX` answers and :data:`PLACE_MEMO_IDS` Schedule ids in all), so a repeated commune or
    distance costs a lookup."""
    if f.modifier not in (None, "exact"):
        raise _bad(f, f"modifier ':{f.modifier}' is not supported here")
    key = ("place", spec.name, f.modifier, tuple(f.values), visibility)
    found: set[str] | None = directory.memo.get(key)
    if found is not None:
        return set(found)
    chosen = _match_places(f, spec, directory, visibility)
    kept = directory.memo.setdefault("place-kept", [0, 0])  # answers, Schedule ids
    if kept[0] < PLACE_MEMO_MAX and kept[1] + len(chosen) <= PLACE_MEMO_IDS:
        kept[0] += 1
        kept[1] += len(chosen)
        directory.memo[key] = frozenset(chosen)
    return chosen


def _match_places(f: Filter, spec: SearchParam, directory: Directory, visibility: Any) -> set[str]:
    chosen: set[str] = set()
    for value in f.values:
        if not value:
            continue
        if spec.name == "near":
            chosen.update(_near(parse_near(f, value), directory, visibility))
            continue
        city = spec.name == "address-city"
        wanted = normalise(value) if city else value.strip()  # once per value, not per Schedule
        exact = f.modifier == "exact"
        for entry in directory.schedules.values():
            place = entry.place
            if place is None or not visibility.allows(entry.tenant):
                continue
            held = place.city if city else place.postal_code
            if held is not None and (held == wanted if exact else held.startswith(wanted)):
                chosen.add(entry.id)
    return chosen


def _near(point: tuple[float, float, float], directory: Directory, visibility: Any) -> set[str]:
    """Schedules whose place lies within the distance: places outside the latitude band of that distance are passed
    over without the great-circle computation (no path between two latitudes is shorter than along a meridian)."""
    latitude, longitude, km = point
    band = math.degrees(km / EARTH_RADIUS_KM) * (1 + 1e-9) + 1e-9  # a hair wide: rounding never drops a place
    chosen = set()
    for entry in directory.schedules.values():
        place = entry.place
        if place is None or place.latitude is None or abs(place.latitude - latitude) > band:
            continue
        if not visibility.allows(entry.tenant):
            continue
        distance = place.distance_km(latitude, longitude)
        if distance is not None and distance <= km:
            chosen.add(entry.id)
    return chosen


def _place_missing(f: Filter, spec: SearchParam, directory: Directory) -> ColumnElement[bool]:
    """``:missing=true``: Slots whose place lacks the element (or that have no known Schedule); ``false``: the rest."""
    if f.values[0] not in ("true", "false"):
        raise _bad(f, ":missing takes true or false")
    attribute = {"address-city": "city", "address-postalcode": "postal_code", "near": "latitude"}[spec.name]
    known = sorted(
        entry.id
        for entry in directory.schedules.values()
        if entry.place is not None and getattr(entry.place, attribute) is not None
    )
    has_it = SLOT.c.schedule_id.in_(known) if known else false()
    return ~has_it | SLOT.c.schedule_id.is_(None) if f.values[0] == "true" else has_it


def _by_schedule(f: Filter, directory: Directory) -> set[str] | None:
    """``schedule=Schedule/x[,...]``: plain references only (anything else is probed like any reference)."""
    if not _plain(f) or f.param is None or f.param.name != "schedule":
        return None
    ids = set()
    for value in f.values:
        kind, ident = parse_reference(value) if "/" in value else ("Schedule", value)
        if kind != "Schedule" or not ident:
            return None
        ids.add(ident)
    return ids


START_MEMO_MAX = 1024  # ``start`` conditions kept (distinct values and zones), beyond which the memo starts afresh
_START_CONDITIONS: dict[tuple[str, tzinfo], ColumnElement[bool]] = {}


def _start_condition(raw: str, zone: tzinfo, f: Filter) -> ColumnElement[bool]:
    """The condition of one ``start`` value. Building it costs more than the rest of the plan (every prefix's
    comparison is constructed), and searches repeat their windows (today, the next days): built once per value and
    zone, then shared (SQL expressions are immutable). A bad value raises before anything is kept."""
    key = (raw, zone)
    found = _START_CONDITIONS.get(key)
    if found is None:
        found = date_condition(SLOT.c.low, SLOT.c.high, raw, zone, instant=True, f=f)
        if len(_START_CONDITIONS) >= START_MEMO_MAX:
            _START_CONDITIONS.clear()
        _START_CONDITIONS[key] = found
    return found


def _coded_condition(f: Filter, zone: tzinfo, scope: Scope | None) -> ColumnElement[bool] | None:
    """``specialty``/``service-type`` as a test of the row's ``codes`` text (slot_rows.codes_column), the rows
    without one probed as any filter; None when a value cannot be told by the text (the filter is probed)."""
    spec = f.param
    if not _plain(f) or spec is None or spec.resource_type != "Slot" or spec.name not in CODED_PARAMS:
        return None
    needles = [codes_needle(spec.name, value) for value in f.values if value]
    if not needles or any(needle is None for needle in needles):
        return None
    held = or_(*(SLOT.c.codes.contains(needle, autoescape=True) for needle in needles if needle is not None))
    probed = filter_condition(f, zone, driver=False, owner=SLOT.c.rid, scope=scope)
    return or_(and_(SLOT.c.codes.is_not(None), held), and_(SLOT.c.codes.is_(None), probed))


@dataclass
class SlotPlan:
    """What a Slot search reads and how it is ordered (the pieces ``SearchEngine`` runs).

    ``conditions`` test ``search_slot`` rows (and probes correlated to them); ``resource_conditions`` need the
    resource row. Without the latter, counting reads the index alone (``search_slot`` holds live Slots only)."""

    conditions: list[ColumnElement[bool]]
    resource_conditions: list[ColumnElement[bool]]
    key: Any
    tiebreak: Any
    descending: bool

    @property
    def source(self) -> Any:
        return SLOT.join(RESOURCE, RESOURCE.c.rid == SLOT.c.rid)

    @property
    def all_conditions(self) -> list[ColumnElement[bool]]:
        live = [RESOURCE.c.res_type == "Slot", RESOURCE.c.deleted.is_(False)]
        return [*live, *self.resource_conditions, *self.conditions]

    @property
    def count_source(self) -> Any:
        return self.source if self.resource_conditions else SLOT

    @property
    def count_conditions(self) -> list[ColumnElement[bool]]:
        return self.all_conditions if self.resource_conditions else self.conditions


def slot_plan(
    request: SearchRequest, visibility: Any, zone: tzinfo, directory: Directory, scope: Scope | None, dialect: str
) -> SlotPlan:
    conditions: list[ColumnElement[bool]] = []
    resource_conditions: list[ColumnElement[bool]] = []
    schedules: set[str] | None = None  # None: no Schedule restriction

    def restrict(ids: set[str]) -> None:
        nonlocal schedules
        schedules = ids if schedules is None else schedules & ids

    for f in request.filters:
        if _is_start(f):
            parts = [_start_condition(v, zone, f) for v in f.values if v]
            if not parts:
                raise _bad(f, "a value is needed")
            conditions.append(or_(*parts))
        elif _is_status(f):
            conditions.append(SLOT.c.status.in_([v for v in f.values if v]))
        elif (codes := _slot_type_codes(f)) is not None:
            conditions.append(or_(*(kind_condition(SLOT.c.kinds, code) for code in codes)))
        elif (types := _actor_identifier_chain(f)) is not None:
            restrict(_by_identifier(f, types, directory, visibility))
        elif f.param is not None and f.param.via == "place" and not f.chain and f.modifier == "missing":
            conditions.append(_place_missing(f, f.param, directory))
        elif f.param is not None and f.param.via == "place" and not f.chain:
            restrict(_by_place(f, f.param, directory, visibility))
        elif (named := _by_schedule(f, directory)) is not None:
            restrict(named)
        elif f.param is not None and f.param.via is not None:
            raise _bad(f, "this parameter applies to Slot searches only, not through a chain")
        elif (coded := _coded_condition(f, zone, scope)) is not None:
            conditions.append(coded)
        else:
            condition = filter_condition(f, zone, driver=False, owner=SLOT.c.rid, scope=scope)
            (resource_conditions if f.special is not None else conditions).append(condition)  # _id, _lastUpdated
    if schedules is not None:
        conditions.append(one_of(SLOT.c.schedule_id, schedules, dialect) if schedules else false())
    visible = visibility.condition(SLOT)  # search_slot rows carry their Slot's tenant
    if visible is not None:
        conditions.append(visible)
    sort = request.sort[0] if request.sort else None
    if sort is None and not any(_is_start(f) for f in request.filters):
        return SlotPlan(conditions, resource_conditions, None, RESOURCE.c.res_id, False)  # as any search: by id
    if sort is None or sort.name == "start":
        return SlotPlan(conditions, resource_conditions, SLOT.c.low, SLOT.c.rid, bool(sort and sort.descending))
    key = sort_expression("Slot", sort.name, sort.param)
    return SlotPlan(conditions, resource_conditions, key, RESOURCE.c.res_id, sort.descending)


__all__ = ["SLOT", "SlotPlan", "parse_near", "slot_plan"]
