"""Pathway counts (contract C3, ``GET /pathways/summary``): enrolments per protocol, referrals per status, overdue.

Counts only, read from the search indexes (never a resource's content): no patient is named, so small counts are
not masked. ``active`` / ``completed``: CarePlans instantiating the protocol with that status; ``referrals``: Tasks
per status (the eight statuses of the state machine); ``overdue``: open referrals (requested, received, accepted,
in-progress) whose due date (``restriction.period.end``) has passed. ``tenants`` None counts every centre.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from gateway.fhir.dates import format_instant
from gateway.pathways.protocols import URL_PREFIX
from gateway.storage.store import INDEX, RESOURCE

REFERRAL_STATUSES = ("requested", "received", "accepted", "rejected", "in-progress", "completed", "cancelled", "failed")
OPEN = ("requested", "received", "accepted", "in-progress")


def _visible(query: Any, tenants: Collection[str] | None) -> Any:
    query = query.where(RESOURCE.c.deleted.is_(False))
    return query if tenants is None else query.where(RESOURCE.c.tenant.in_(sorted(tenants)))


def pathway_summary(conn: Connection, tenants: Collection[str] | None, now: datetime | None = None) -> dict[str, Any]:
    moment = now or datetime.now(UTC)
    token, ref, dates = INDEX["token"], INDEX["reference"], INDEX["date"]
    protocols = conn.execute(
        select(RESOURCE.c.res_id, RESOURCE.c.content).where(
            RESOURCE.c.res_type == "PlanDefinition", RESOURCE.c.tenant.is_(None), RESOURCE.c.deleted.is_(False)
        )
    ).all()
    plans = conn.execute(
        _visible(
            select(ref.c.url, token.c.code, func.count())
            .select_from(ref.join(token, token.c.rid == ref.c.rid).join(RESOURCE, RESOURCE.c.rid == ref.c.rid))
            .where(
                ref.c.res_type == "CarePlan",
                ref.c.param == "instantiates-canonical",
                token.c.res_type == "CarePlan",
                token.c.param == "status",
                token.c.code.in_(("active", "completed")),
            ),
            tenants,
        ).group_by(ref.c.url, token.c.code)
    ).all()
    counted: dict[tuple[str, str], int] = {}
    for url, status, count in plans:
        key = (str(url).removeprefix(URL_PREFIX), str(status))
        counted[key] = counted.get(key, 0) + int(count)
    tasks = conn.execute(
        _visible(
            select(token.c.code, func.count())
            .select_from(token.join(RESOURCE, RESOURCE.c.rid == token.c.rid))
            .where(token.c.res_type == "Task", token.c.param == "status"),
            tenants,
        ).group_by(token.c.code)
    ).all()
    by_status = {str(code): int(count) for code, count in tasks}
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    overdue = conn.execute(
        _visible(
            select(func.count(func.distinct(dates.c.rid)))
            .select_from(dates.join(RESOURCE, RESOURCE.c.rid == dates.c.rid))
            .where(
                dates.c.res_type == "Task",
                dates.c.param == "period",
                dates.c.status.in_(OPEN),
                dates.c.high < naive,
            ),
            tenants,
        )
    ).scalar_one()
    listed = []
    for res_id, content in sorted(protocols):
        title = orjson.loads(content).get("title", res_id)
        listed.append(
            {
                "id": res_id,
                "title": title,
                "active": counted.get((res_id, "active"), 0),
                "completed": counted.get((res_id, "completed"), 0),
            }
        )
    return {
        "protocols": listed,
        "referrals": {status: by_status.get(status, 0) for status in REFERRAL_STATUSES},
        "overdue": int(overdue),
        "generated": format_instant(moment),
    }


__all__ = ["OPEN", "REFERRAL_STATUSES", "pathway_summary"]
