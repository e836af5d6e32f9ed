"""The capacity directory: who offers slots, under which Schedule, in which place — held in memory by each process.

Capacity searches ask about a Slot's context, not the Slot itself: the SAS names practitioners by their idNat_PS, a
coordinator names a commune, a postal code or a point and a distance. All of that lives in a few small resource types
(Schedule → Practitioner / PractitionerRole → the Location it contains or references). The directory reads them once,
answers "which Schedules" from memory, and the Slot query then range-scans ``search_slot`` by Schedule.

It is rebuilt when a write of one of its types has committed since (``directory_version`` counters, read in the
caller's own transaction, so a search never mixes a newer database with an older directory). Its resources also serve
the SAS ``_include``s without another read.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, select

from gateway.storage.directory_version import DIRECTORY_TYPES, HELD_DIRECTORY, directory_stamp
from gateway.storage.indexer import normalise
from gateway.storage.references import parse_reference
from gateway.storage.store import RESOURCE, StoredResource, row_to_stored

EARTH_RADIUS_KM = 6371.0088
Key = tuple[str, str]  # (resource type, id)


@dataclass(frozen=True)
class Place:
    """Where a Schedule's slots take place: a Location's address and position (each part may be unknown)."""

    city: str | None = None  # normalised (lower case, no accents)
    postal_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    def distance_km(self, latitude: float, longitude: float) -> float | None:
        """Great-circle (haversine) distance to a point; None without a position."""
        if self.latitude is None or self.longitude is None:
            return None
        phi1, phi2 = math.radians(self.latitude), math.radians(latitude)
        d_phi, d_lambda = phi2 - phi1, math.radians(longitude - self.longitude)
        h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
        return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class ScheduleEntry:
    id: str
    tenant: str | None
    actors: tuple[Key, ...]  # (type, id) of the Schedule's actors
    place: Place | None


@dataclass
class Directory:
    """One consistent reading of the directory types."""

    stamp: tuple[int, ...]
    resources: dict[Key, StoredResource] = field(default_factory=dict)
    schedules: dict[str, ScheduleEntry] = field(default_factory=dict)
    by_actor: dict[Key, list[str]] = field(default_factory=lambda: defaultdict(list))  # actor -> schedule ids
    by_identifier: dict[tuple[str, str], list[Key]] = field(default_factory=lambda: defaultdict(list))
    # Derived forms of the resources (parsed JSON, renderings), computed once per directory by whoever needs them;
    # never mutate what is taken from here.
    memo: dict[Any, Any] = field(default_factory=dict)

    def parsed(self, stored: StoredResource) -> dict[str, Any]:
        key = ("json", stored.resource_type, stored.id)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = orjson.loads(stored.content)
        return found  # type: ignore[no-any-return]

    def actors_with_identifier(self, system: str | None, value: str, types: Iterable[str]) -> list[Key]:
        """Practitioners / PractitionerRoles with this identifier (``system`` None: any system)."""
        wanted = set(types)
        if system is not None:
            return [k for k in self.by_identifier.get((system, value), []) if k[0] in wanted]
        return [k for (_, v), keys in self.by_identifier.items() if v == value for k in keys if k[0] in wanted]

    def schedules_of(self, actors: Iterable[Key]) -> set[str]:
        return {schedule for actor in actors for schedule in self.by_actor.get(actor, [])}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _place_of(location: dict[str, Any]) -> Place:
    address, position = _mapping(location.get("address")), _mapping(location.get("position"))
    city, postal = address.get("city"), address.get("postalCode")
    latitude, longitude = _number(position.get("latitude")), _number(position.get("longitude"))
    known = latitude is not None and longitude is not None
    return Place(
        city=normalise(city) if isinstance(city, str) and city.strip() else None,
        postal_code=postal.strip() if isinstance(postal, str) and postal.strip() else None,
        latitude=latitude if known else None,
        longitude=longitude if known else None,
    )


def _role_place(role: dict[str, Any], resources: dict[Key, StoredResource]) -> Place | None:
    """The first Location of a PractitionerRole: contained (``#id``) or stored."""
    contained = {c.get("id"): c for c in role.get("contained", []) if c.get("resourceType") == "Location"}
    for ref in role.get("location", []):
        text = ref.get("reference", "") if isinstance(ref, dict) else ""
        if text.startswith("#") and text[1:] in contained:
            return _place_of(contained[text[1:]])
        kind, ident = parse_reference(text)
        stored = resources.get((kind, ident)) if kind == "Location" and ident else None
        if stored is not None:
            return _place_of(stored.json())
    return None


def _schedule_place(actors: tuple[Key, ...], resources: dict[Key, StoredResource]) -> Place | None:
    for kind, ident in actors:
        stored = resources.get((kind, ident))
        if stored is None:
            continue
        if kind == "Location":
            return _place_of(stored.json())
        if kind == "PractitionerRole":
            place = _role_place(stored.json(), resources)
            if place is not None:
                return place
    return None


def build_directory(conn: Connection, stamp: tuple[int, ...]) -> Directory:
    directory = Directory(stamp)
    for kind in DIRECTORY_TYPES:  # one equality per type: with an IN list SQLite's planner may scan the whole table
        query = select(RESOURCE).where(RESOURCE.c.res_type == kind, RESOURCE.c.deleted.is_(False))
        for row in conn.execute(query):
            stored = row_to_stored(row)
            directory.resources[(stored.resource_type, stored.id)] = stored
    schedules: list[tuple[StoredResource, dict[str, Any]]] = []
    for (kind, ident), stored in directory.resources.items():
        if kind not in ("Practitioner", "PractitionerRole", "Schedule"):
            continue
        resource = orjson.loads(stored.content)
        if kind == "Schedule":
            schedules.append((stored, resource))
            continue
        for identifier in resource.get("identifier", []):
            value = identifier.get("value") if isinstance(identifier, dict) else None
            if isinstance(value, str):
                system = identifier.get("system")
                directory.by_identifier[(system if isinstance(system, str) else "", value)].append((kind, ident))
    for stored, resource in schedules:
        actors: list[Key] = []
        for actor in resource.get("actor", []):
            target, target_id = parse_reference(actor.get("reference", "")) if isinstance(actor, dict) else (None, None)
            if target is not None and target_id is not None:
                actors.append((target, target_id))
        place = _schedule_place(tuple(actors), directory.resources)
        directory.schedules[stored.id] = ScheduleEntry(stored.id, stored.tenant, tuple(actors), place)
        for actor_key in actors:
            directory.by_actor[actor_key].append(stored.id)
    return directory


class DirectoryCache:
    """The newest directory this process built, per database; rebuilt when the counters moved."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: dict[str, Directory] = {}

    def current(self, conn: Connection, engine: Engine | None = None) -> Directory:
        transaction = conn.get_transaction()
        held: tuple[object, Directory] | None = conn.info.get(HELD_DIRECTORY)
        if held is not None and transaction is not None and held[0] is transaction:
            return held[1]  # asked again in the same transaction (a search, then its includes): the same directory
        found = self._current_for(conn, engine)
        if transaction is not None:
            conn.info[HELD_DIRECTORY] = (transaction, found)
        return found

    def _current_for(self, conn: Connection, engine: Engine | None) -> Directory:
        key = str((engine or conn.engine).url)
        stamp = directory_stamp(conn)
        if min(stamp, default=0) < 0:  # counters missing (a database not migrated by us): never trust a copy
            return build_directory(conn, stamp)
        found = self._current.get(key)
        if found is not None and found.stamp == stamp:
            return found
        with self._lock:
            found = self._current.get(key)
            if found is not None and found.stamp == stamp:
                return found
            fresh = build_directory(conn, stamp)
            self._current[key] = fresh
            return fresh

    def clear(self) -> None:
        with self._lock:
            self._current.clear()


DIRECTORY = DirectoryCache()

__all__ = ["DIRECTORY", "Directory", "DirectoryCache", "Place", "ScheduleEntry", "build_directory"]
