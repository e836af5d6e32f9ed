"""Run a parsed search on the store: matches (keyset paging), total, and ``_include``/``_revinclude`` resolution."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, literal, select, tuple_

from gateway.capacity.directory import DIRECTORY
from gateway.capacity.slot_plan import slot_plan
from gateway.errors import InvalidRequest
from gateway.fhir.query import Filter, Include, SearchRequest, SortKey
from gateway.storage.search_sql import (
    combined_date_condition,
    filter_condition,
    instant_range,
    selectivity_rank,
    sort_expression,
)
from gateway.storage.store import INDEX, RESOURCE, ResourceStore, StoredResource, row_to_stored
from security.protect import open_content

MAX_INCLUDE_DEPTH = 4
R = RESOURCE.c

# What the caller may receive of a list of resources (role, consent), in order; None in a search means everything.
Keep = Callable[[Connection, list[StoredResource]], list[StoredResource]]


@dataclass(frozen=True)
class Visibility:
    """What the principal may see: ``tenants`` None means every tenant (the tenant column is never null-matched)."""

    tenants: frozenset[str] | None = None
    include_shared: bool = True  # resources owned by no tenant (CPTS-level)

    def condition(self, table: Any = RESOURCE) -> ColumnElement[bool] | None:
        """The rows of ``table`` (the resource table or an alias of it) this visibility admits; None: all."""
        if self.tenants is None:
            return None
        column: ColumnElement[str | None] = table.c.tenant
        owned = column.in_(sorted(self.tenants))
        return owned | column.is_(None) if self.include_shared else owned

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


@dataclass
class _QueryPlan:
    """Where the rows come from, what they must satisfy, and the sort key (None: by id)."""

    source: Any
    conditions: list[ColumnElement[bool]]
    key: Any
    descending: bool
    tiebreak: Any = RESOURCE.c.res_id  # the unique column after the key, in the order and the paging cursor
    count_source: Any = None  # what counting reads, when less than ``source`` suffices
    count_conditions: list[ColumnElement[bool]] | None = None


def _own_status_filter(f: Filter) -> bool:
    """A plain ``status=code[,code]`` filter on the resource's own ``status`` element."""
    spec = f.param
    plain = not f.chain and f.modifier is None and f.special is None
    own = spec is not None and spec.name == "status" and spec.paths == ("status",)
    return plain and own and all(v and "|" not in v for v in f.values)


class SearchEngine:
    def __init__(
        self,
        store: ResourceStore,
        zone: tzinfo,
        *,
        max_include: int = 2000,
        total_limit: int = 1000,
        max_scan: int = 5000,
    ) -> None:
        self.store = store
        self.zone = zone
        self.max_include = max_include
        self.total_limit = total_limit
        self.max_scan = max_scan  # most matches one consent-filtered page examines

    def plan(self, request: SearchRequest, visibility: Visibility, conn: Connection | None = None) -> _QueryPlan:
        """Turn the filters into SQL. An instant range (``Slot?start=ge..&start=le..``) with no more selective filter
        drives the query by walking the date index in order, so a page costs its size, not the number of matches;
        such searches are chronological unless ``_sort`` says otherwise. Otherwise the most selective filter
        drives (an IN), and the others are checked per candidate row (a correlated EXISTS)."""
        if request.resource_type == "Slot" and conn is not None:
            directory = DIRECTORY.current(conn)
            slots = slot_plan(request, visibility, self.zone, directory, visibility.condition, conn.dialect.name)
            return _QueryPlan(
                slots.source, slots.all_conditions, slots.key, slots.descending, slots.tiebreak,
                slots.count_source, slots.count_conditions,
            )  # fmt: skip
        date_groups, rest = _group_instant_filters(request.filters)
        sort = request.sort[0] if request.sort else None
        if sort is None and date_groups:
            spec = date_groups[0][0].param
            sort = SortKey(spec.name, spec, False) if spec is not None else None
        walked = next(
            (g for g in date_groups if sort is not None and sort.param is not None and g[0].name == sort.name), None
        )
        if walked is not None and any(selectivity_rank(f) == 0 for f in rest):
            walked = None  # an _id or chained filter is more selective than any date range
        conditions: list[ColumnElement[bool]] = [
            RESOURCE.c.res_type == request.resource_type,
            RESOURCE.c.deleted.is_(False),
        ]
        source: Any = RESOURCE
        owner: Any = RESOURCE.c.rid
        key: Any = None
        if walked is not None:
            drv = INDEX["date"].alias("drv")
            source = RESOURCE.join(drv, drv.c.rid == RESOURCE.c.rid)
            conditions.extend(instant_range(drv, walked, self.zone))
            status = next((f for f in rest if _own_status_filter(f)), None)
            if status is not None:  # date rows carry the resource's status: one range scan of that status only
                rest = [f for f in rest if f is not status]
                conditions.append(drv.c.status.in_(status.values))
            key = drv.c.low
            owner = drv.c.rid
        elif sort is not None:
            key = sort_expression(request.resource_type, sort.name, sort.param)
        ranked: list[tuple[int, ColumnElement[bool] | Filter]] = []
        for group in date_groups:
            if group is not walked:
                ranked.append((1 if len(group) > 1 else 2, combined_date_condition(group, self.zone)))
        ranked.extend((selectivity_rank(f), f) for f in rest)
        ranked.sort(key=lambda pair: pair[0])
        for position, (_rank, item) in enumerate(ranked):
            driver = position == 0 and walked is None
            if isinstance(item, Filter):  # probes hang on the walked index row: no resource row is read for misses
                item = filter_condition(item, self.zone, driver=driver, owner=owner, scope=visibility.condition)
            conditions.append(item)
        visible = visibility.condition()
        if visible is not None:
            conditions.append(visible)
        return _QueryPlan(source, conditions, key, bool(sort and sort.descending))

    def count(self, conn: Connection, plan: _QueryPlan, limit: int | None) -> int | None:
        """Number of matches; None when it exceeds ``limit`` (counting them all would cost more than the page)."""
        source = plan.source if plan.count_source is None else plan.count_source
        conditions = plan.conditions if plan.count_conditions is None else plan.count_conditions
        matches = select(literal(1)).select_from(source).where(*conditions)
        if limit is not None:
            matches = matches.limit(limit + 1)
        number = int(conn.execute(select(func.count()).select_from(matches.subquery())).scalar_one())
        return None if limit is not None and number > limit else number

    def search(
        self,
        conn: Connection,
        request: SearchRequest,
        visibility: Visibility,
        keep: Keep | None = None,
        include_keep: Keep | None = None,
    ) -> SearchResult:
        """One page of matches. ``keep`` (consent) removes what the caller may not receive *before* the page is cut:
        the page is filled from further matches, so neither its size nor its links tell that something was hidden,
        and no total is given (the caller cannot count what it may not see)."""
        plan = self.plan(request, visibility, conn)
        total = None
        counted = keep is None and (request.total != "none" or request.summary == "count")
        exact = request.total == "accurate" or request.summary == "count"
        if request.summary == "count" or request.count == 0:
            if counted:
                total = self.count(conn, plan, None if exact else self.total_limit)
            return SearchResult([], total=total)
        if keep is None:
            rows = self._fetch(conn, plan, request.cursor, request.count + 1)
            matches = [row_to_stored(row) for row in rows[: request.count]]
            more = len(rows) > request.count
            next_cursor = self._position(rows[request.count - 1], plan.key) if more else None
            if counted and request.cursor is None and not more:  # the first page holds every match: no count
                total = len(rows) if exact or len(rows) <= self.total_limit else None
            elif counted:
                total = self.count(conn, plan, None if exact else self.total_limit)
        else:
            matches, next_cursor = self._kept_page(conn, plan, request, keep)
        included = self.resolve_includes(conn, matches, request.includes, visibility, include_keep or keep)
        return SearchResult(matches, included, total, next_cursor)

    def every_match(
        self, conn: Connection, request: SearchRequest, visibility: Visibility, limit: int
    ) -> list[StoredResource] | None:
        """Every match in the search's order, at most ``limit`` (None when there are more): one query for one page
        of hundreds of resources (the SAS answer), reading only what a StoredResource holds; no count, no cursor,
        no include, no consent filter (callers whose role the consent rules bind use :meth:`search`)."""
        plan = self.plan(request, visibility, conn)
        key = plan.key
        columns = (R.res_type, R.res_id, R.version_id, R.last_updated, R.deleted, R.tenant, R.content, R.rid)
        order = [key, plan.tiebreak] if key is not None else [plan.tiebreak]
        query = (
            select(*columns)
            .select_from(plan.source)
            .where(*plan.conditions)
            .order_by(*(column.desc() if plan.descending else column.asc() for column in order))
            .limit(limit + 1)
        )
        rows = conn.execute(query).all()
        if len(rows) > limit:
            return None
        protector = self.store.protector
        return [
            StoredResource(kind, ident, version, updated, deleted, tenant, open_content(kind, ident, text, protector),
                           rid=rid)
            for kind, ident, version, updated, deleted, tenant, text, rid in rows
        ]  # fmt: skip

    def _fetch(self, conn: Connection, plan: _QueryPlan, cursor: dict[str, Any] | None, limit: int) -> list[Any]:
        key = plan.key
        query = select(RESOURCE).select_from(plan.source).where(*plan.conditions)
        query = query.add_columns(plan.tiebreak.label("tiebreak"))
        if key is not None:
            query = query.add_columns(key.label("sort_key"))
        if cursor is not None:
            query = query.where(self._after(cursor, key, plan.descending, plan.tiebreak))
        order = [key, plan.tiebreak] if key is not None else [plan.tiebreak]
        query = query.order_by(*(column.desc() if plan.descending else column.asc() for column in order))
        return list(conn.execute(query.limit(limit)).all())

    @staticmethod
    def _position(row: Any, key: Any) -> dict[str, Any]:
        """The keyset cursor just after ``row``."""
        position: dict[str, Any] = {"id": row.tiebreak}
        if key is not None:
            value = row.sort_key
            position["k"] = value.isoformat() if isinstance(value, datetime) else value
        return position

    def _kept_page(
        self, conn: Connection, plan: _QueryPlan, request: SearchRequest, keep: Keep
    ) -> tuple[list[StoredResource], dict[str, Any] | None]:
        """Scan matches in order, keeping what ``keep`` admits, until the page is full and one more kept match shows
        there is a next page (or the matches run out, or ``max_scan`` rows were examined: then the next link resumes
        the scan where it stopped)."""
        wanted = request.count
        batch = max(wanted + 1, 50)
        kept: list[tuple[Any, StoredResource]] = []
        cursor = request.cursor
        scanned = 0
        while True:
            rows = self._fetch(conn, plan, cursor, batch)
            stored = [row_to_stored(row) for row in rows]
            admitted = {id(item) for item in keep(conn, stored)}
            for row, item in zip(rows, stored, strict=True):
                if id(item) not in admitted:
                    continue
                if len(kept) == wanted:
                    return [k for _, k in kept], self._position(kept[-1][0], plan.key)
                kept.append((row, item))
            scanned += len(rows)
            if len(rows) < batch:
                return [k for _, k in kept], None
            cursor = self._position(rows[-1], plan.key)
            if scanned >= self.max_scan:
                return [k for _, k in kept], cursor

    def _after(self, cursor: dict[str, Any], key: Any, descending: bool, tiebreak: Any) -> ColumnElement[bool]:
        last = cursor["id"]
        numeric = isinstance(last, int) and not isinstance(last, bool)
        if numeric != (getattr(tiebreak.type, "python_type", str) is int):
            raise InvalidRequest(
                "_cursor is not a paging position of this search", expression="parameter:_cursor",
                code="API-SEARCH-PARAM",
            )  # fmt: skip
        last_id = last if numeric else str(last)
        if key is None:
            return tiebreak < last_id if descending else tiebreak > last_id  # type: ignore[no-any-return]
        value = cursor.get("k")
        if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and "T" in value:
            value = datetime.fromisoformat(value)
        pair = tuple_(key, tiebreak)
        return pair < tuple_(value, last_id) if descending else pair > tuple_(value, last_id)

    def resolve_includes(
        self,
        conn: Connection,
        matches: list[StoredResource],
        includes: list[Include],
        visibility: Visibility,
        keep: Keep | None = None,
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
                sources = [r.rid for r in frontier if r.resource_type == include.source_type and r.rid is not None]
                targets = [r for r in frontier if include.reverse and self._can_be_target(r, include)]
                if include.reverse and targets:
                    wanted.extend(self._referrers(conn, include, targets))
                elif not include.reverse and sources:
                    wanted.extend(self._targets(conn, include, sources))
            fresh = [k for k in dict.fromkeys(wanted) if k not in seen]
            found = self.store.read_many(conn, fresh[: max(0, self.max_include - len(included))])
            frontier = [found[k] for k in fresh if k in found and visibility.allows(found[k].tenant)]
            if keep is not None:
                frontier = keep(conn, frontier)
            for stored in frontier:
                seen.add((stored.resource_type, stored.id))
            included.extend(frontier)
            if len(included) >= self.max_include:
                break
        return included

    @staticmethod
    def _can_be_target(resource: StoredResource, include: Include) -> bool:
        allowed = (include.target_type,) if include.target_type else include.param.targets
        return resource.resource_type in allowed

    @staticmethod
    def _targets(conn: Connection, include: Include, source_rids: Iterable[int]) -> list[tuple[str, str]]:
        ref = INDEX["reference"]
        query = select(ref.c.target_type, ref.c.target_id).where(
            ref.c.rid.in_(list(source_rids)),
            ref.c.param == include.param.name,
            ref.c.target_id.is_not(None),
        )
        if include.target_type:
            query = query.where(ref.c.target_type == include.target_type)
        return [(row.target_type, row.target_id) for row in conn.execute(query)]

    @staticmethod
    def _referrers(conn: Connection, include: Include, targets: list[StoredResource]) -> list[tuple[str, str]]:
        ref = INDEX["reference"]
        ids_by_type: dict[str, list[str]] = {}
        for target in targets:
            ids_by_type.setdefault(target.resource_type, []).append(target.id)
        found: list[tuple[str, str]] = []
        for target_type, ids in ids_by_type.items():
            query = (
                select(RESOURCE.c.res_type, RESOURCE.c.res_id)
                .select_from(ref.join(RESOURCE, RESOURCE.c.rid == ref.c.rid))
                .where(
                    ref.c.res_type == include.source_type,
                    ref.c.param == include.param.name,
                    ref.c.target_type == target_type,
                    ref.c.target_id.in_(ids),
                )
            )
            found.extend((row.res_type, row.res_id) for row in conn.execute(query))
        return found


__all__ = ["Keep", "SearchEngine", "SearchResult", "Visibility"]
