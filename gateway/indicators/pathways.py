"""IND-PATHWAY: pathway CarePlans whose period overlaps the period (active ones per protocol), and the referrals
(Task) authored in it by status, with the median completion delay in calendar days (local time)."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

import orjson
from sqlalchemy import select

from gateway.fhir.dates import DateFormatError, parse_range
from gateway.indicators.context import PROTOCOL_SYSTEM, TASK_STATUS, Context
from gateway.indicators.tally import Tally, new_tally
from gateway.storage.store import RESOURCE

CATEGORY_SYSTEM = "urn:cpts-gateway:careplan-category"
LEFT_OUT = ("draft", "entered-in-error")


def _local_day(ctx: Context, value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        low = parse_range(value, ctx.zone)[0]
    except DateFormatError:
        return None
    return low.replace(tzinfo=UTC).astimezone(ctx.zone).date()


def _titles(ctx: Context) -> dict[str, str]:
    """Protocol canonical -> the title of its PlanDefinition (published by the CPTS: no centre holds them)."""
    query = select(RESOURCE.c.content).where(RESOURCE.c.res_type == "PlanDefinition", RESOURCE.c.deleted.is_(False))
    titles: dict[str, str] = {}
    for (content,) in ctx.conn.execute(query):
        protocol = orjson.loads(content)
        if isinstance(protocol.get("url"), str) and isinstance(protocol.get("title"), str):
            titles[protocol["url"]] = protocol["title"]
    return titles


def _protocol(plan: dict[str, Any], titles: dict[str, str]) -> tuple[str | None, str | None]:
    """The protocol's canonical and its label: its title, else the canonical's last segment."""
    canonicals = [c for c in plan.get("instantiatesCanonical") or [] if isinstance(c, str) and c]
    if not canonicals:
        return None, None
    canonical = canonicals[0].split("|", 1)[0]
    return canonical, titles.get(canonical) or canonical.rstrip("/").rsplit("/", 1)[-1]


def compute_pathway(ctx: Context) -> dict[str, Tally]:
    tallies = {t: new_tally(["enrolments", "referrals"]) for t in ctx.tenants}
    titles = _titles(ctx)
    for tenant, plan in ctx.resources("CarePlan", "date", overlap=True):
        categories = [
            c.get("code")
            for concept in plan.get("category") or []
            for c in concept.get("coding") or []
            if c.get("system") == CATEGORY_SYSTEM
        ]
        if "pathway" not in categories:
            continue
        canonical, name = _protocol(plan, titles)
        active = int(plan.get("status") == "active")
        strata = {"protocol": ctx.code("protocol", PROTOCOL_SYSTEM, canonical, name), "centre": ctx.centre(tenant)}
        counts = {"initial-population": 1, "measure-population": active, "measure-observation": active}
        tallies[tenant]["enrolments"].add(strata, counts, {"measure-observation": float(active)})
    for tenant, task in ctx.resources("Task", "authored-on"):
        status = task.get("status") if isinstance(task.get("status"), str) else None
        owner = task.get("owner")
        role_id = ctx.role_of(tenant, owner.get("reference") if isinstance(owner, dict) else None)
        strata = {
            "task-status": ctx.code("task-status", TASK_STATUS, status),
            "profession": ctx.profession(role_id),
            "centre": ctx.centre(tenant),
        }
        kept = int(status not in LEFT_OUT)
        counts = {"initial-population": 1, "measure-population": kept, "measure-population-exclusion": 1 - kept}
        samples: dict[str, float] = {}
        if status == "completed":
            authored = _local_day(ctx, task.get("authoredOn"))
            done = _local_day(ctx, (task.get("executionPeriod") or {}).get("end") or task.get("lastModified"))
            if authored is not None and done is not None:
                samples["measure-observation"] = float((done - authored).days)
                counts["measure-observation"] = 1
        tallies[tenant]["referrals"].add(strata, counts, samples=samples)
    return tallies


__all__ = ["compute_pathway"]
