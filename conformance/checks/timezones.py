"""Time zones: local times that exist, explicit offsets, French legal time (TZ-*)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from conformance.checks.fhir import Resource, parse_instant
from conformance.exports import Record
from conformance.model import Message, Omit
from conformance.registry import check, group

TIMEZONES = group("timezones", "Time zones", "Local times, UTC offsets and daylight saving time.")
PARIS = ZoneInfo("Europe/Paris")
_OFFSET = re.compile(r"(?:[+-]\d{2}:\d{2}|Z)$")
_DST = ("happens twice in", "does not exist in")


@check(
    "local-times-exist",
    title="Local times exist once in Europe/Paris",
    description="A date-time without offset is read in Europe/Paris; one the clocks skip (spring) or show twice "
    "(autumn) is ambiguous and rejected.",
    source="mappings/csv/README.md (Daylight saving time)", verifies=["TZ-01"], group=TIMEZONES, kind="record",
    applies=["csv:"], fix="Give times of the night of a daylight-saving change with their offset "
    "(2026-10-25T02:30:00+01:00).",
)  # fmt: skip
def local_times_exist(record: Record) -> Iterator[Message]:
    for issue in record.issues:
        if any(marker in issue.diagnostics for marker in _DST):
            yield Message(issue.diagnostics, ", ".join(issue.expression) or record.location)


def _times(resource: Resource) -> Iterator[tuple[str, str]]:
    for key in ("start", "end"):
        value = resource.get(key)
        if isinstance(value, str) and "T" in value:
            yield key, value


@check(
    "fhir-offsets",
    title="FHIR times carry their UTC offset",
    description="Slot and Appointment start and end are instants with an offset (+01:00, +02:00 or Z).",
    source="FHIR R4 instant, dateTime", verifies=["TZ-02"], group=TIMEZONES, kind="resource",
    applies=["Slot", "Appointment"], fix="Write start and end with their offset: 2026-11-23T09:00:00+01:00.",
)  # fmt: skip
def fhir_offsets(record: Record, resource: Resource) -> Iterator[Message]:
    for key, value in _times(resource):
        if not _OFFSET.search(value):
            yield Message(f"{key} {value!r} has no UTC offset", record.where(resource, key, key))


@check(
    "paris-offsets",
    title="Times are given in French legal time",
    description="The offset of Slot and Appointment times is the one in force in Europe/Paris at that instant "
    "(+01:00 in winter, +02:00 in summer), so people read the agenda's own hours.",
    source="french-interop (Europe/Paris); architecture §5 CPTS_TIMEZONE", verifies=["TZ-03"], group=TIMEZONES,
    kind="resource", applies=["Slot", "Appointment"], fix="Convert times to Europe/Paris before writing them.",
)  # fmt: skip
def paris_offsets(record: Record, resource: Resource) -> Iterator[Message]:
    times = list(_times(resource))
    if not times:
        raise Omit("no time")
    for key, value in times:
        moment = parse_instant(value)
        if moment is None or moment.tzinfo is None:
            continue
        legal = moment.astimezone(PARIS).utcoffset()
        if moment.utcoffset() != legal:
            yield Message(f"{key} {value!r} is not in Europe/Paris time (offset {legal})", record.where(resource, key))


__all__ = ["TIMEZONES"]
