"""Reading the audit trail (admin role): AuditEvents newest first, filtered, in keyset pages.

``since``/``until`` take a FHIR date, dateTime or instant (a date covers its whole day in the gateway's timezone);
``agent`` is the requestor's identifier (client name, idNat_PS, certificate DN); ``patient`` a ``Patient/id`` (or
the bare id) that the event concerns; ``action`` the gateway action (read, search, create, token, ...); ``outcome``
0, 4, 8 or 12. Paging is by ``seq``: ``_cursor`` is the seq below which the next page starts, so pages stay stable
while events are appended. The patient filter also looks inside the event for the events that concern several
patients (the ``patient`` column holds the first one only).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Engine, or_, select

from gateway.errors import InvalidRequest, NotFound
from gateway.fhir.dates import DateFormatError, format_instant, parse_range, utc_now
from gateway.fhir.ids import new_id
from gateway.storage.db import read_transaction
from security.audit import EVENTS
from security.balp import OUTCOMES

PARAMETERS = ("since", "until", "agent", "patient", "action", "outcome", "_count", "_cursor", "_format")
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_ACTION = re.compile(r"[a-z][a-z-]{0,15}")


@dataclass(frozen=True)
class AuditQuery:
    since: datetime | None = None
    until: datetime | None = None
    agent: str | None = None
    patient: str | None = None  # "Patient/id"
    action: str | None = None
    outcome: str | None = None
    count: int = 50
    cursor: int | None = None


def _bad(message: str, where: str) -> InvalidRequest:
    return InvalidRequest(message, expression=where, code="API-PARAM")


def parse_query(pairs: Sequence[tuple[str, str]], zone: ZoneInfo, default_count: int, max_count: int) -> AuditQuery:
    """The filters of ``GET /audit/events``; a 400 naming the parameter for anything unknown or malformed."""
    values: dict[str, str] = {}
    for name, value in pairs:
        if name not in PARAMETERS:
            raise _bad(f"unknown parameter '{name}' (known: {', '.join(PARAMETERS[:-1])})", name)
        if name in values:
            raise _bad(f"'{name}' is given more than once", name)
        values[name] = value.strip()
    fields: dict[str, Any] = {}
    for name, side in (("since", 0), ("until", 1)):
        if values.get(name):
            try:
                fields[name] = parse_range(values[name], zone)[side]
            except DateFormatError as exc:
                raise _bad(f"{name}: {values[name]!r} is not a FHIR date or dateTime", name) from exc
    if values.get("patient"):
        patient = values["patient"].removeprefix("Patient/")
        if not _ID.fullmatch(patient):
            raise _bad(f"patient: {values['patient']!r} is not a Patient id", "patient")
        fields["patient"] = f"Patient/{patient}"
    agent, action = values.get("agent") or None, values.get("action") or None
    if agent is not None and (len(agent) > 255 or not agent.isprintable()):
        raise _bad("agent: at most 255 printable characters (a client name, idNat_PS or certificate DN)", "agent")
    if action is not None and not _ACTION.fullmatch(action):
        raise _bad(f"action: {action!r} is not an audit action (read, search, create, token, ...)", "action")
    outcome = values.get("outcome")
    if outcome and outcome not in OUTCOMES:
        raise _bad(f"outcome must be one of {', '.join(OUTCOMES)}", "outcome")
    fields["count"] = _integer(values, "_count", default_count, 1, max_count)
    if values.get("_cursor"):
        fields["cursor"] = _integer(values, "_cursor", 0, 1, 2**62)
    return AuditQuery(agent=agent, action=action, outcome=outcome or None, **fields)


def _integer(values: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = values.get(name)
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise _bad(f"{name} must be a whole number from {low} to {high}", name)
    return int(raw)


def search_events(engine: Engine, query: AuditQuery) -> tuple[list[tuple[int, str]], int | None]:
    """A page of (seq, event JSON), newest first, and the cursor of the next page (None on the last)."""
    statement = select(EVENTS.c.seq, EVENTS.c.event).order_by(EVENTS.c.seq.desc()).limit(query.count + 1)
    if query.cursor is not None:
        statement = statement.where(EVENTS.c.seq < query.cursor)
    if query.since is not None:
        statement = statement.where(EVENTS.c.recorded_at >= query.since)
    if query.until is not None:
        statement = statement.where(EVENTS.c.recorded_at <= query.until)
    for name in ("agent", "action", "outcome"):
        if (value := getattr(query, name)) is not None:
            statement = statement.where(EVENTS.c[name] == value)
    if query.patient is not None:
        mention = f'%"reference":"{query.patient}"%'  # canonical JSON: no spaces; the id is [A-Za-z0-9-.]
        statement = statement.where(or_(EVENTS.c.patient == query.patient, EVENTS.c.event.like(mention)))
    with read_transaction(engine) as conn:
        rows = [(int(seq), str(event)) for seq, event in conn.execute(statement)]
    more = len(rows) > query.count
    rows = rows[: query.count]
    return rows, (rows[-1][0] if more and rows else None)


def read_event(engine: Engine, seq: int) -> str:
    with read_transaction(engine) as conn:
        event = conn.execute(select(EVENTS.c.event).where(EVENTS.c.seq == seq)).scalar()
    if event is None:
        raise NotFound(f"no audit event {seq}", expression="seq")
    return str(event)


def searchset(
    base: str, pairs: Sequence[tuple[str, str]], rows: list[tuple[int, str]], cursor: int | None
) -> dict[str, Any]:
    """The page as a FHIR searchset Bundle (the stored canonical JSON embedded as is)."""
    kept = [(name, value) for name, value in pairs if name != "_cursor"]
    link = [{"relation": "self", "url": f"{base}/audit/events" + (f"?{urlencode(pairs)}" if pairs else "")}]
    if cursor is not None:
        link.append({"relation": "next", "url": f"{base}/audit/events?{urlencode([*kept, ('_cursor', cursor)])}"})
    return {
        "resourceType": "Bundle",
        "id": new_id(),
        "meta": {"lastUpdated": format_instant(utc_now())},
        "type": "searchset",
        "link": link,
        "entry": [
            {"fullUrl": f"{base}/audit/events/{seq}", "resource": orjson.Fragment(event), "search": {"mode": "match"}}
            for seq, event in rows
        ],
    }


__all__ = ["PARAMETERS", "AuditQuery", "parse_query", "read_event", "search_events", "searchset"]
