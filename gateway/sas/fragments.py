"""A Slot's SAS rendering, prepared when the Slot is stored, so that an INT_R04 answer is assembled, not rebuilt.

An INT_R04 answer holds a few hundred Slots. Parsing each, rendering it for the SAS (gateway/sas/render.py) and
serialising the bundle cost most of the request's CPU; none of it depends on the request except the times, which
the SAS wants in the gateway's time zone. So the store keeps, in the Slot's ``search_slot`` row:

- ``sas``: the Slot as the SAS receives it, compact JSON, **without** ``start`` and ``end``; the answer appends them,
  formatted from the row's ``low`` and ``end_at`` instants (:func:`with_times`), so the fragment does not depend on
  the time zone setting;
- ``links``: the references in the Slot's elements that its reference search parameters read (``schedule``,
  ``serviceType``), compact JSON: enough to resolve the answer's ``_include``s from the capacity directory without
  the whole Slot.

Either is NULL when the Slot cannot be prepared ahead (no instant ``start``/``end``, or an absolute reference the
rendering would have to make relative to the request's base): the answer renders such a Slot from its content.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any

import orjson

from gateway.fhir.paths import compile_path
from gateway.fhir.searchparams import registry
from gateway.sas.profiles import PROFILES

Resource = dict[str, Any]

# FHIR instant: seconds, optional fraction, and a zone (Z or an offset); anything looser renders from content.
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
_HEAD = ("resourceType", "id")
_HEAD_AND_META = frozenset((*_HEAD, "meta"))


def with_meta(resource: Resource, profile: str, *, keep_security: bool) -> Resource:
    """The resource with its meta reduced to the version, the aggregator profile (and a Slot's security labels),
    placed right after the id, as FHIR JSON orders it."""
    old = resource.get("meta") or {}
    meta: Resource = {key: old[key] for key in ("versionId", "lastUpdated") if key in old}
    meta["profile"] = [profile]
    if keep_security and old.get("security"):
        meta["security"] = old["security"]
    out: Resource = {key: resource[key] for key in _HEAD if key in resource}
    out["meta"] = meta
    out.update((key, value) for key, value in resource.items() if key not in _HEAD_AND_META)
    return out


@lru_cache(maxsize=1)
def link_elements() -> tuple[str, ...]:
    """The Slot elements its reference search parameters start from (what ``_include=Slot:<param>`` follows)."""
    found: dict[str, None] = {}
    for spec in registry().get("Slot", {}).values():
        if spec.type == "reference" and spec.via is None:
            for path in spec.paths:
                found[compile_path(path)[0].name] = None
    return tuple(found)


def _absolute_reference(node: Any) -> bool:
    if isinstance(node, dict):
        return any(
            (key == "reference" and isinstance(value, str) and "://" in value) or _absolute_reference(value)
            for key, value in node.items()
        )
    if isinstance(node, list):
        return any(_absolute_reference(item) for item in node)
    return False


def _references(node: Any) -> Any:
    """What of ``node`` leads to a reference: ``reference`` values, and the ``url`` of the extensions holding one
    (an ``extension(url)`` path step needs it); None when nothing does. Codings and displays are left out, so that
    the Slots of one Schedule and service share one value."""
    if isinstance(node, list):
        kept = [found for found in map(_references, node) if found is not None]
        return kept or None
    if not isinstance(node, dict):
        return None
    out = {key: found for key, value in node.items() if key != "url" and (found := _references(value)) is not None}
    if isinstance(node.get("reference"), str):
        out["reference"] = node["reference"]
    if out and isinstance(node.get("url"), str):
        out["url"] = node["url"]
    return out or None


def slot_fragments(slot: Resource) -> tuple[str | None, str | None]:
    """``(sas, links)`` of a Slot as stored (with its ``meta.versionId`` and ``meta.lastUpdated``); (None, None)
    when it cannot be prepared ahead."""
    start, end = slot.get("start"), slot.get("end")
    if not (isinstance(start, str) and _INSTANT.fullmatch(start) and isinstance(end, str) and _INSTANT.fullmatch(end)):
        return None, None
    if _absolute_reference(slot):
        return None, None
    timeless = {key: value for key, value in slot.items() if key not in ("start", "end")}
    rendered = with_meta(timeless, PROFILES["Slot"], keep_security=True)
    links = {name: found for name in link_elements() if (found := _references(slot.get(name))) is not None}
    return orjson.dumps(rendered).decode(), orjson.dumps(links).decode()


@lru_cache(maxsize=65536)  # slot times repeat: the same hours every day, the same days in every query
def sas_time(moment: datetime | str, zone: tzinfo) -> str:
    """A naive UTC instant (or its ISO text, as SQLite holds it) as the SAS wants it:
    ``2026-11-22T09:00:00.000+01:00`` (milliseconds, numeric offset)."""
    instant = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return instant.replace(tzinfo=UTC).astimezone(zone).isoformat(timespec="milliseconds")


class SasTimes(dict[datetime | str, bytes]):
    """:func:`sas_time` for one answer, as UTF-8 bytes: its Slots share a few dozen distinct instants, so most
    lookups (``times[moment]``) find one already formatted."""

    def __init__(self, zone: tzinfo) -> None:
        super().__init__()
        self.zone = zone

    def __missing__(self, moment: datetime | str) -> bytes:
        found = self[moment] = sas_time(moment, self.zone).encode()
        return found


def with_times(fragment: bytes, start: bytes, end: bytes) -> bytes:
    """The prepared fragment (UTF-8) completed with its ``start`` and ``end`` (as :class:`SasTimes` gives them)."""
    return b'%b,"start":"%b","end":"%b"}' % (fragment[:-1], start, end)


__all__ = ["SasTimes", "link_elements", "sas_time", "slot_fragments", "with_meta", "with_times"]
