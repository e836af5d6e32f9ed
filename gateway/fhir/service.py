"""The FHIR interactions (R4 §3.1.0 RESTful API): read, vread, history, search, create, update, delete.

Routes stay thin and call this service; every write goes through :meth:`FhirService.write`, the one chain of
validate → authorise → store (audit joins it with Step 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine

from gateway.capacity.freshness import stale_warnings
from gateway.errors import Forbidden, Gone, InvalidRequest, Issue, NotFound, ValidationFailed, operation_outcome
from gateway.fhir.booking import SlotBooking
from gateway.fhir.dates import DateFormatError, parse_range
from gateway.fhir.ids import deterministic_id, is_valid_id, new_id
from gateway.fhir.query import SearchRequest, decode_cursor, encode_cursor, parse_search
from gateway.fhir.representation import history_bundle, link_url, searchset
from gateway.fhir.resources import SUPPORTED
from gateway.fhir.search import SearchEngine
from gateway.fhir.validation import validate_resource
from gateway.indicators.release import ReportRelease
from gateway.pathways.enrolment import enrolment_id
from gateway.pathways.writes import PathwayWrites
from gateway.sas import request as sas_request
from gateway.sas.search import sas_search
from gateway.settings import Settings
from gateway.storage.db import read_transaction, write_transaction
from gateway.storage.store import StoredResource, WriteItem, WriteOutcome, build_store
from gateway.subscriptions import registry as subscriptions
from gateway.subscriptions.criteria import check_subscription, criteria_request, try_criteria
from gateway.subscriptions.endpoints import endpoint_refusal
from gateway.subscriptions.subscribers import SUBSCRIPTION, check_owner, owner_keep
from security.access import AccessPolicy, disclosed
from security.ledger import current
from security.principal import Principal
from security.protect import POLICY, installed

ReturnPreference = Literal["minimal", "representation", "OperationOutcome"]


@dataclass
class FhirResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def parse_etag(value: str | None) -> int | None:
    """``W/"3"``, ``"3"`` or ``3`` -> 3; None when absent."""
    if value is None or not value.strip():
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit()):
        raise InvalidRequest(f'If-Match {value!r} is not a version ETag such as W/"3"', expression="If-Match")
    return int(text)


def resource_headers(stored: StoredResource, base: str) -> dict[str, str]:
    return {
        "ETag": stored.etag,
        "Last-Modified": stored.last_updated.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Location": f"{base}/{stored.resource_type}/{stored.id}/_history/{stored.version_id}",
    }


def business_id(resource_type: str, tenant: str | None, resource: dict[str, Any]) -> str:
    """Deterministic id from the first business identifier (so a retried create changes nothing), else random; a
    pathway enrolment without identifier: one CarePlan per patient and protocol (gateway/pathways/enrolment.py)."""
    if resource_type == "CarePlan" and not resource.get("identifier") and (found := enrolment_id(resource)):
        return found
    for identifier in resource.get("identifier", []) if isinstance(resource.get("identifier"), list) else []:
        if isinstance(identifier, dict) and identifier.get("system") and identifier.get("value"):
            value = identifier["value"]
            protector = installed()
            if protector is not None and protector.protects(resource_type) and POLICY.protected_identifier(identifier):
                # an id must not be an unkeyed hash of an INS (a NIR can be guessed and hashed): use its blind index
                value = protector.blind_token(resource_type, "identifier", str(value))
            return deterministic_id(resource_type, tenant, identifier["system"], value)
    return new_id()


def check_type(resource_type: str) -> None:
    if resource_type not in SUPPORTED:
        raise NotFound(f"resource type '{resource_type}' is not supported here", expression=resource_type)


class FhirService:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.store = build_store(engine, settings)
        self.search_engine = SearchEngine(
            self.store, settings.tz, max_include=settings.max_include, total_limit=settings.search_total_limit
        )
        self.access = AccessPolicy()
        self.booking = SlotBooking(self.store, self.access)
        self.pathways = PathwayWrites(self.store, self.access, settings.tz)
        self.reports = ReportRelease(self.store, settings)  # indicator reports: masked or left out on the way out

    # -- reads -------------------------------------------------------------------------------------------------------
    def _visible(
        self, conn: Connection, principal: Principal, stored: StoredResource | None, label: str
    ) -> StoredResource:
        """The resource if the principal may read it: unknown → 404; another centre's, or hidden by consent → 403."""
        if stored is None:
            raise NotFound(f"{label} is not known", expression=label.split("/")[0])
        self.access.check_read(conn, principal, stored)
        check_owner(principal, stored)  # a Subscription: its subscriber's only
        self.reports.check_read(principal, stored)
        return stored

    def read(self, principal: Principal, resource_type: str, resource_id: str, base: str) -> FhirResponse:
        check_type(resource_type)
        current().note("read", resource_type)
        principal.require("read", resource_type)
        with read_transaction(self.engine) as conn:
            found = self.store.read(conn, resource_type, resource_id)
            stored = self._visible(conn, principal, found, f"{resource_type}/{resource_id}")
            stored = self.reports.release(conn, principal, [stored])[0]
        disclosed(principal, [stored])
        if stored.deleted:
            gone = Gone(f"{resource_type}/{resource_id} was deleted", expression=resource_type)
            gone.headers = {"ETag": stored.etag}
            raise gone
        return FhirResponse(200, stored, resource_headers(stored, base))

    def vread(self, principal: Principal, resource_type: str, resource_id: str, vid: str, base: str) -> FhirResponse:
        check_type(resource_type)
        current().note("vread", resource_type)
        principal.require("read", resource_type)
        if not (vid.isascii() and vid.isdigit()):
            raise NotFound(f"version '{vid}' of {resource_type}/{resource_id} is not known", expression=resource_type)
        label = f"{resource_type}/{resource_id}/_history/{vid}"
        with read_transaction(self.engine) as conn:
            found = self.store.vread(conn, resource_type, resource_id, int(vid))
            stored = self._visible(conn, principal, found, label)
            stored = self.reports.release(conn, principal, [stored])[0]
        disclosed(principal, [stored])
        if stored.deleted:
            raise Gone(f"{label} records a deletion", expression=resource_type)
        return FhirResponse(200, stored, resource_headers(stored, base))

    def history(
        self,
        principal: Principal,
        resource_type: str | None,
        resource_id: str | None,
        pairs: Sequence[tuple[str, str]],
        base: str,
    ) -> FhirResponse:
        if resource_type:
            check_type(resource_type)
        self._check_history(principal, resource_type, resource_id)
        params = dict(pairs)
        raw_count = params.get("_count", str(self.settings.default_page_size))
        if not (raw_count.isascii() and raw_count.isdigit()) or int(raw_count) < 1:
            raise InvalidRequest(f"_count must be a positive integer, not {raw_count!r}", expression="parameter:_count")
        count = min(int(raw_count), self.settings.max_page_size)
        since = self._instant_param(params, "_since")
        at = self._instant_param(params, "_at")
        after = None
        if "_cursor" in params:
            cursor = decode_cursor(params["_cursor"])
            try:
                after = (datetime.fromisoformat(cursor["u"]), cursor["t"], cursor["id"], int(cursor["v"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise InvalidRequest("_cursor is not a history position", expression="parameter:_cursor") from exc
        tenants = principal.visibility.tenants
        with read_transaction(self.engine) as conn:
            if resource_type and resource_id:
                latest = self.store.read(conn, resource_type, resource_id)
                self._visible(conn, principal, latest, f"{resource_type}/{resource_id}")
            versions = self.store.history(
                conn,
                resource_type=resource_type,
                resource_id=resource_id,
                since=since,
                at=at,
                after=after,
                limit=count + 1,
                tenants=None if tenants is None else [*tenants, None],
            )
            total = None
            if resource_id and after is None and since is None and at is None:
                total = self.store.count_history(conn, resource_type=resource_type, resource_id=resource_id)
            page, more = versions[:count], len(versions) > count
            shown = self.reports.release(conn, principal, page)
        disclosed(principal, shown)
        kept = [(k, v) for k, v in pairs if k != "_cursor"]
        suffix = "/" + resource_id + "/_history" if resource_id else "/_history"
        next_link = None
        if more and page:
            last = page[-1]
            position = {
                "u": last.last_updated.isoformat(),
                "t": last.resource_type,
                "id": last.id,
                "v": last.version_id,
            }
            next_link = link_url(base, resource_type, [*kept, ("_cursor", encode_cursor(position))], suffix)
        self_link = link_url(base, resource_type, list(pairs), suffix)
        body = history_bundle(base=base, self_link=self_link, next_link=next_link, versions=shown, total=total)
        return FhirResponse(200, body)

    @staticmethod
    def _check_history(principal: Principal, resource_type: str | None, resource_id: str | None) -> None:
        """Instance history follows read; type and system history need the role's ``history`` right, since a history
        across patients cannot be filtered patient by patient."""
        current().note("history", resource_type)
        types = [resource_type] if resource_type else sorted(SUPPORTED)
        for name in types:
            principal.require("read", name)
        if resource_id is None and not principal.role.history:
            raise Forbidden(
                f"{principal.subject} ({principal.role.name}) may not read the history of a type or of the server",
                expression="_history",
                code="SEC-ROLE",
            )

    def _instant_param(self, params: dict[str, str], name: str) -> datetime | None:
        if name not in params:
            return None
        try:
            return parse_range(params[name], self.settings.tz)[0]
        except DateFormatError as exc:
            raise InvalidRequest(f"{name}: {exc}", expression=f"parameter:{name}") from exc

    def search(
        self,
        principal: Principal,
        resource_type: str,
        pairs: Sequence[tuple[str, str]],
        base: str,
        *,
        strict: bool,
    ) -> FhirResponse:
        check_type(resource_type)
        current().note("search", resource_type)
        if resource_type == "Slot" and sas_request.applies(principal.role_name, pairs):
            return sas_search(self, principal, pairs, base)  # the SAS contract (INT_R04)
        if resource_type == "MeasureReport":
            pairs = self.reports.search_pairs(principal, pairs)
        request = parse_search(
            resource_type,
            pairs,
            strict=strict,
            default_count=self.settings.default_page_size,
            max_count=self.settings.max_page_size,
        )
        self.access.check_search(principal, request)
        keep = self.access.keep(principal)
        if resource_type == SUBSCRIPTION and not principal.is_developer:
            keep = owner_keep(principal, keep)
        with read_transaction(self.engine) as conn:
            result = self.search_engine.search(
                conn,
                request,
                principal.visibility,
                keep,
                self.access.include_keep(principal),
            )
            stale = self._stale_capacity(conn, principal, request, result.matches)
            result.matches = self.reports.release(conn, principal, result.matches)
            result.included = self.reports.release(conn, principal, result.included)
        disclosed(principal, [*result.matches, *result.included])
        self_link = link_url(base, resource_type, request.echo)
        next_link = None
        if result.next_cursor is not None:
            next_link = link_url(base, resource_type, [*request.echo, ("_cursor", encode_cursor(result.next_cursor))])
        warnings = [
            Issue("warning", "not-supported", text, (f"parameter:{name}",), "API-SEARCH-IGNORED")
            for name, text in request.warnings
        ] + stale
        body = searchset(
            base=base,
            self_link=self_link,
            next_link=next_link,
            matches=result.matches,
            included=result.included,
            total=result.total,
            summary=request.summary,
            elements=request.elements,
            warnings=warnings,
        )
        return FhirResponse(200, body)

    def _stale_capacity(
        self, conn: Connection, principal: Principal, request: SearchRequest, matches: list[StoredResource]
    ) -> list[Issue]:
        """A coordinator looking for free slots across centres is told which of the centres shown are stale."""
        if request.resource_type != "Slot" or not matches or principal.role.tenancy != "all":
            return []
        if "capacity" not in principal.role.operations or principal.is_developer:
            return []
        if not any(f.name == "status" and "free" in f.values for f in request.filters):
            return []
        tenants = {m.tenant for m in matches if m.tenant is not None}
        stale_after = timedelta(minutes=self.settings.capacity_stale_after_minutes)
        return stale_warnings(conn, tenants, datetime.now(UTC), stale_after)

    # -- writes ------------------------------------------------------------------------------------------------------
    def prepare(self, principal: Principal, resource_type: str, body: Any, resource_id: str | None) -> dict[str, Any]:
        """Validate a resource body for a write and check the principal may write it."""
        check_type(resource_type)
        resource = validate_resource(body, expected_type=resource_type)
        if resource_id is not None:
            if "id" not in resource:
                raise InvalidRequest(
                    f"the body has no id; an update of {resource_type}/{resource_id} needs it", expression=resource_type
                )
            if resource["id"] != resource_id:
                raise InvalidRequest(
                    f"the body's id '{resource['id']}' differs from the URL's '{resource_id}'",
                    expression=f"{resource_type}.id",
                )
        principal.require("create" if resource_id is None else "update", resource_type)
        if resource_type == SUBSCRIPTION:  # criteria and channel checked; the criteria searched as the subscriber
            resource, spec = check_subscription(resource)
            refusal = endpoint_refusal(spec.endpoint, self.settings)
            if refusal is not None:
                raise ValidationFailed(
                    [Issue("error", "value", refusal, ("Subscription.channel.endpoint",), "API-SUBSCRIPTION-ENDPOINT")]
                )
            self.access.check_search(principal, criteria_request(spec.criteria_type, spec.pairs))
            with read_transaction(self.engine) as conn:
                try_criteria(self.search_engine, conn, spec, principal.visibility)
        return resource

    def write(self, principal: Principal, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        """Store prepared writes in one transaction (all or nothing), owned by the principal's tenant; a resource
        of a tenant the principal cannot see is never replaced (it answers as unknown)."""
        tenants = principal.visibility.tenants
        owners: frozenset[str | None] | None = None if tenants is None else frozenset(tenants)
        for item in items:
            item.tenant = item.tenant or principal.write_tenant
            item.owners = owners
        if len(items) == 1:
            verb = {"POST": "create", "DELETE": "delete"}.get(items[0].method, "update")
            current().note(verb, items[0].resource_type)
        with write_transaction(self.engine) as conn:
            subscriptions.before_write(conn, self.store, principal, items)
            for item in items:
                if item.resource is not None:
                    self.access.check_write(conn, principal, item.resource_type, item.resource)
                if principal.role.consent and item.resource_type in principal.role.patient_data:
                    replaced = self.store.read(conn, item.resource_type, item.id)  # what an update or delete ends
                    if replaced is not None and not replaced.deleted:
                        self.access.check_write(conn, principal, item.resource_type, replaced.json())
            teams = self.pathways.plan(conn, principal, items)  # referral states, the patients' cercles de soins
            slots = self.booking.plan(conn, principal, items)  # the Slots the Appointments take or give back
            outcomes = self.store.write(conn, [*items, *teams, *slots])[: len(items)]
            subscriptions.after_write(conn, principal, items, outcomes)
        disclosed(principal, [o.stored for o in outcomes if o.stored is not None])
        return outcomes

    def create(
        self, principal: Principal, resource_type: str, body: Any, base: str, prefer: ReturnPreference
    ) -> FhirResponse:
        resource = self.prepare(principal, resource_type, body, None)
        resource_id = business_id(resource_type, principal.write_tenant, resource)
        resource = {**resource, "id": resource_id}
        outcome = self.write(principal, [WriteItem(resource_type, resource_id, resource, method="POST")])[0]
        return self._write_response(outcome, base, prefer, created_status=201)

    def update(
        self,
        principal: Principal,
        resource_type: str,
        resource_id: str,
        body: Any,
        if_match: str | None,
        base: str,
        prefer: ReturnPreference,
    ) -> FhirResponse:
        check_type(resource_type)
        if not is_valid_id(resource_id):
            raise InvalidRequest(f"'{resource_id}' is not a valid FHIR id", expression=f"{resource_type}.id")
        resource = self.prepare(principal, resource_type, body, resource_id)
        item = WriteItem(resource_type, resource_id, resource, if_match=parse_etag(if_match), method="PUT")
        outcome = self.write(principal, [item])[0]
        return self._write_response(outcome, base, prefer, created_status=201)

    def delete(self, principal: Principal, resource_type: str, resource_id: str, if_match: str | None) -> FhirResponse:
        check_type(resource_type)
        principal.require("delete", resource_type)
        item = WriteItem(resource_type, resource_id, None, if_match=parse_etag(if_match), method="DELETE")
        outcome = self.write(principal, [item])[0]
        headers = {"ETag": outcome.stored.etag} if outcome.outcome == "deleted" and outcome.stored else {}
        return FhirResponse(204, None, headers)

    def _write_response(
        self, outcome: WriteOutcome, base: str, prefer: ReturnPreference, *, created_status: int
    ) -> FhirResponse:
        stored = outcome.stored
        assert stored is not None
        status = created_status if outcome.outcome == "created" else 200
        headers = resource_headers(stored, base)
        if prefer == "minimal":
            return FhirResponse(status, None, headers)
        if prefer == "OperationOutcome":
            text = f"{stored.reference} {outcome.outcome} (version {stored.version_id})"
            return FhirResponse(status, operation_outcome([Issue("information", "informational", text)]), headers)
        return FhirResponse(status, stored, headers)


__all__ = ["FhirResponse", "FhirService", "business_id", "parse_etag", "resource_headers"]
