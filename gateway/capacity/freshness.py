"""How fresh each centre's capacity is: its last successful slot sync, and whether that is too old.

The slot-carrying source kinds are the CSV ``slots`` export, FHIR bundles (GAP agendas) and HL7 v2 (SIU); a centre's
last slot sync is the newest of them. A centre that never synced is stale. ``CPTS_CAPACITY_STALE_AFTER_MINUTES``
sets the age beyond which capacity is flagged stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, select

from gateway.capacity.sync import SYNC
from gateway.errors import Issue
from gateway.settings import get_settings

SLOT_KINDS = ("csv:slots", "fhir", "hl7v2")

Freshness = dict[str, tuple[datetime | None, bool]]


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def last_slot_syncs(conn: Connection, tenants: Iterable[str] | None = None) -> dict[str, datetime]:
    """tenant → newest successful slot sync (UTC, aware); ``tenants=None``: every centre that ever synced."""
    query = (
        select(SYNC.c.tenant, func.max(SYNC.c.synced_at))
        .where(SYNC.c.source_kind.in_(SLOT_KINDS))
        .group_by(SYNC.c.tenant)
    )
    if tenants is not None:
        query = query.where(SYNC.c.tenant.in_(list(tenants)))
    return {tenant: _aware(at) for tenant, at in conn.execute(query) if at is not None}


def capacity_freshness(
    conn: Connection, tenants: Iterable[str] | None, now: datetime, stale_after: timedelta | None = None
) -> Freshness:
    """{tenant: (last slot sync or None, stale)}: stale when never synced or synced more than ``stale_after`` ago.

    ``tenants=None`` answers for every centre that ever synced; listed tenants that never synced are answered too.
    ``stale_after`` defaults to ``CPTS_CAPACITY_STALE_AFTER_MINUTES``.
    """
    if stale_after is None:
        stale_after = timedelta(minutes=get_settings().capacity_stale_after_minutes)
    wanted = None if tenants is None else sorted(set(tenants))
    found = last_slot_syncs(conn, wanted)
    moment = _aware(now)
    answer: Freshness = {}
    for tenant in wanted if wanted is not None else sorted(found):
        last = found.get(tenant)
        answer[tenant] = (last, last is None or moment - last > stale_after)
    return answer


def stale_warnings(conn: Connection, tenants: Iterable[str], now: datetime, stale_after: timedelta) -> list[Issue]:
    """One warning per centre among ``tenants`` whose capacity is stale: the slots shown may be out of date."""
    warnings = []
    minutes = int(stale_after.total_seconds() // 60)
    for tenant, (last, stale) in capacity_freshness(conn, tenants, now, stale_after).items():
        if not stale:
            continue
        when = f"last synced at {last.isoformat(timespec='seconds')}" if last else "never synced its agenda"
        warnings.append(
            Issue(
                "warning",
                "informational",
                f"centre {tenant}: capacity {when}, more than {minutes} minutes ago: its slots may be out of date",
                (f"Organization?identifier=https://finess.esante.gouv.fr|{tenant}",),
                "CAPACITY-STALE",
            )
        )
    return warnings


__all__ = ["SLOT_KINDS", "Freshness", "capacity_freshness", "last_slot_syncs", "stale_warnings"]
