"""Run a parsed search on the store: matches (keyset paging), total, and ``_include``/``_revinclude`` resolution."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select, tuple_

from gateway.fhir.query import Filter, Include, SearchRequest
from gateway.storage.search_sql import (
    combined_date_condition,
    filter_condition,
    selectivity_rank,
    sort_expression,
)
from gateway.storage.store import INDEX, RESOURCE, ResourceStore, StoredResource

MAX_INCLUDE_DEPTH = 4


@dataclass(frozen=True)
class Visibility:
    """What the principal may see: ``tenants`` None means every tenant (the tenant column is never null-matched)."""

    tenants: frozenset[str] | None = None
    include_shared: bool = True  # resources owned by no tenant (CPTS-level)

    def condition(self) -> ColumnElement[bool] | None:
        if self.tenants is None:
            return None
        owned = RESOURCE.c.tenant.in_(sorted(self.tenants))
        return owned | RESOURCE.c.tenant.is_(None) if self.include_shared else owned

    def allows(self, tenant: str | None) -> bool:
        if self.tenants is None:
            return True
        return tenant in self.tenants if tenant is not None else self.include_shared


@dataclass
class SearchResult:
    matches: list[StoredResource]
    included: list[StoredResource] = field(default_factory=list)
    total: int | None = None
    next_cursor: dict[str, Any] | None = None


def _group_instant_filters(filters: list[Filter]) -> tuple[list[list[Filter]], list[Filter]]:
    """Split out AND-ed, single-valued filters on the same instant parameter: they are tested on one index row."""
    groups: dict[str, list[Filter]] = defaultdict(list)
    rest: list[Filter] = []
    for f in filters:
        instant = f.param is not None and f.param.instant and not f.chain and not f.modifier
        if instant and len(f.values) == 1:
            groups[f.name].append(f)
        else:
            rest.append(f)
    return list(groups.values()), rest


class SearchEngine:
    def __init__(self, store: ResourceStore, zone: tzinfo) -> None:
        self.store = store
        self.zone = zone

    def conditions(self, request: SearchRequest, visibility: Visibility) -> list[ColumnElement[bool]]:
        """Where-conditions on the resource table; the most selective filter first (it drives the query)."""
        conditions: list[ColumnElement[bool]] = [
            RESOURCE.c.res_type == request.resource_type,
            RESOURCE.c.deleted.is_(False),
        ]
        date_groups, rest = _group_instant_filters(request.filters)
        ranked: list[tuple[int, ColumnElement[bool] | Filter]] = []
        for group in date_groups:
            ranked.append((1 if len(group) > 1 else 2, combined_date_condition(group, self.zone)))
        ranked.extend((selectivity_rank(f), f) for f in rest)
        ranked.sort(key=lambda pair: pair[0])
        for position, (_rank, item) in enumerate(ranked):
            if isinstance(item, Filter):
                conditions.append(filter_condition(item, self.zone, driver=position == 0))
            else:
                conditions.append(item)
        visible = visibility.condition()
        if visible is not None:
            conditions.append(visible)
        return conditions

    def search(self, conn: Connection, request: SearchRequest, visibility: Visibility) -> SearchResult:
        conditions = self.conditions(request, visibility)
        total = None
        if request.total != "none" or request.summary == "count":
            total = int(conn.execute(select(func.count()).select_from(RESOURCE).where(*conditions)).scalar_one())
        if request.summary == "count" or request.count == 0:
            return SearchResult([], total=total)
        sort = request.sort[0] if request.sort else None
        key = sort_expression(request.resource_type, sort.name, sort.param) if sort else None
        descending = bool(sort and sort.descending)
        query = select(RESOURCE).where(*conditions)
        if key is not None:
            query = query.add_columns(key.label("sort_key"))
        if request.cursor is not None:
            query = query.where(self._after(request.cursor, key, descending))
        order = [key, RESOURCE.c.res_id] if key is not None else [RESOURCE.c.res_id]
        query = query.order_by(*(column.desc() if descending else column.asc() for column in order))
        rows = conn.execute(query.limit(request.count + 1)).all()
        matches = [_stored(row) for row in rows[: request.count]]
        next_cursor = None
        if len(rows) > request.count:
            last = rows[request.count - 1]
            next_cursor = {"id": last.res_id}
            if key is not None:
                value = last.sort_key
                next_cursor["k"] = value.isoformat() if isinstance(value, datetime) else value
        included = self.resolve_includes(conn, matches, request.includes, visibility)
        return SearchResult(matches, included, total, next_cursor)

    def _after(self, cursor: dict[str, Any], key: Any, descending: bool) -> ColumnElement[bool]:
        last_id = str(cursor["id"])
        if key is None:
            return RESOURCE.c.res_id < last_id if descending else RESOURCE.c.res_id > last_id
        value = cursor.get("k")
        if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and "T" in value:
            value = datetime.fromisoformat(value)
        pair = tuple_(key, RESOURCE.c.res_id)
        return pair < tuple_(value, last_id) if descending else pair > tuple_(value, last_id)

    def resolve_includes(
        self,
        conn: Connection,
        matches: list[StoredResource],
        includes: list[Include],
        visibility: Visibility,
        limit: int = 2000,
    ) -> list[StoredResource]:
        """Resources named by ``_include`` (targets) and ``_revinclude`` (referrers), iterating where asked."""
        if not includes or not matches:
            return []
        seen = {(r.resource_type, r.id) for r in matches}
        included: list[StoredResource] = []
        frontier = list(matches)
        for depth in range(MAX_INCLUDE_DEPTH):
            active = [i for i in includes if i.iterate or depth == 0]
            if not active or not frontier:
                break
            wanted: list[tuple[str, str]] = []
            for include in active:
                sources = [r.id for r in frontier if r.resource_type == include.source_type]
                targets = [r for r in frontier if include.reverse and self._can_be_target(r, include)]
                if include.reverse and targets:
                    wanted.extend(self._referrers(conn, include, targets))
                elif not include.reverse and sources:
                    wanted.extend(self._targets(conn, include, sources))
            fresh = [k for k in dict.fromkeys(wanted) if k not in seen]
            found = self.store.read_many(conn, fresh[: max(0, limit - len(included))])
            frontier = [found[k] for k in fresh if k in found and visibility.allows(found[k].tenant)]
            for stored in frontier:
                seen.add((stored.resource_type, stored.id))
            included.extend(frontier)
            if len(included) >= limit:
                break
        return included

    @staticmethod
    def _can_be_target(resource: StoredResource, include: Include) -> bool:
        allowed = (include.target_type,) if include.target_type else include.param.targets
        return resource.resource_type in allowed

    @staticmethod
    def _targets(conn: Connection, include: Include, source_ids: Iterable[str]) -> list[tuple[str, str]]:
        ref = INDEX["reference"]
        ids = list(source_ids)
        query = select(ref.c.target_type, ref.c.target_id).where(
            ref.c.res_type == include.source_type,
            ref.c.param == include.param.name,
            ref.c.res_id.in_(ids),
            ref.c.target_id.is_not(None),
        )
        if include.target_type:
            query = query.where(ref.c.target_type == include.target_type)
        return [(row.target_type, row.target_id) for row in conn.execute(query)]

    @staticmethod
    def _referrers(conn: Connection, include: Include, targets: list[StoredResource]) -> list[tuple[str, str]]:
        ref = INDEX["reference"]
        keys = [(t.resource_type, t.id) for t in targets]
        query = select(ref.c.res_type, ref.c.res_id).where(
            ref.c.res_type == include.source_type,
            ref.c.param == include.param.name,
            tuple_(ref.c.target_type, ref.c.target_id).in_(keys),
        )
        return [(row.res_type, row.res_id) for row in conn.execute(query)]


def _stored(row: Any) -> StoredResource:
    return StoredResource(
        row.res_type, row.res_id, row.version_id, row.last_updated, row.deleted, row.tenant, row.content
    )


__all__ = ["SearchEngine", "SearchResult", "Visibility"]
