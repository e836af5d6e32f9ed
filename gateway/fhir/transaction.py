"""Batch and transaction Bundles (FHIR R4 §3.1.0.11).

A transaction is all-or-nothing: every entry is checked first (with its location ``Bundle.entry[i]...``), ``urn:uuid:``
and other fullUrls of created resources are rewritten to the ids the server assigns, conditional references
(``Patient?identifier=...``) are resolved, then all writes happen in one database transaction in the order DELETE,
POST, PUT, and GETs run last. A batch runs each entry on its own and reports each outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from gateway.errors import GatewayError, InvalidRequest, Issue, PreconditionFailed, ValidationFailed
from gateway.fhir.dates import format_instant, utc_now
from gateway.fhir.ids import new_id
from gateway.fhir.query import parse_search
from gateway.fhir.service import FhirResponse, FhirService, business_id, parse_etag
from gateway.fhir.validation import validate_resource
from gateway.storage.db import read_transaction
from gateway.storage.store import StoredResource, WriteItem, WriteOutcome
from security.ledger import current
from security.principal import Principal

ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
STATUS_TEXT = {200: "200 OK", 201: "201 Created", 204: "204 No Content"}


@dataclass
class _Entry:
    index: int
    method: str
    url: str
    resource_type: str
    resource_id: str | None
    query: list[tuple[str, str]]
    resource: dict[str, Any] | None
    full_url: str | None
    if_match: int | None
    if_none_exist: str | None
    skip_write: bool = False


def _at(index: int, path: str = "") -> str:
    return f"Bundle.entry[{index}]{path}"


class BundleProcessor:
    def __init__(self, service: FhirService) -> None:
        self.service = service

    def process(self, principal: Principal, body: Any, base: str) -> FhirResponse:
        if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
            raise InvalidRequest("POST /fhir expects a Bundle of type batch or transaction", expression="Bundle")
        kind = body.get("type")
        if kind not in ("batch", "transaction"):
            raise InvalidRequest(f"Bundle.type must be batch or transaction, not {kind!r}", expression="Bundle.type")
        entries = body.get("entry", [])
        if isinstance(entries, list) and len(entries) > self.service.settings.max_bundle_entries:
            limit = self.service.settings.max_bundle_entries
            message = f"the Bundle has {len(entries)} entries; at most {limit} are accepted"
            raise InvalidRequest(message, expression="Bundle.entry")
        envelope = {**body, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries]}
        if not envelope["entry"]:
            envelope.pop("entry")
        validate_resource(envelope, expected_type="Bundle")
        parsed = [self._parse_entry(i, e) for i, e in enumerate(entries)]
        current().note(kind, None)
        if kind == "transaction":
            return self._transaction(principal, parsed, base)
        return self._batch(principal, parsed, base)

    # -- parsing -----------------------------------------------------------------------------------------------------
    def _parse_entry(self, index: int, entry: dict[str, Any]) -> _Entry:
        request = entry["request"]
        method, url = request["method"], request["url"]
        parts = urlsplit(url)
        segments = [s for s in parts.path.strip("/").split("/") if s]
        if segments and segments[0] == "fhir":
            segments = segments[1:]
        if not segments:
            raise InvalidRequest(f"request.url {url!r} names no resource type", expression=_at(index, ".request.url"))
        resource = entry.get("resource")
        return _Entry(
            index=index,
            method=method,
            url=url,
            resource_type=segments[0],
            resource_id=segments[1] if len(segments) > 1 else None,
            query=parse_qsl(parts.query, keep_blank_values=True),
            resource=resource if isinstance(resource, dict) else None,
            full_url=entry.get("fullUrl"),
            if_match=parse_etag(request.get("ifMatch")),
            if_none_exist=request.get("ifNoneExist"),
        )

    def _validated(self, principal: Principal, entry: _Entry) -> dict[str, Any]:
        if entry.resource is None:
            raise InvalidRequest(f"{entry.method} needs a resource", expression=_at(entry.index, ".resource"))
        try:
            resource_id = entry.resource_id if entry.method == "PUT" and entry.resource_id else None
            return self.service.prepare(principal, entry.resource_type, entry.resource, resource_id)
        except GatewayError as exc:
            raise _relocate(exc, entry.index) from exc

    def _search_ids(self, principal: Principal, resource_type: str, query: list[tuple[str, str]]) -> list[str]:
        request = parse_search(resource_type, query, strict=True, default_count=2, max_count=2)
        request.total = "none"
        with read_transaction(self.service.engine) as conn:
            self.service.access.check_search(principal, request)
            access = self.service.access
            result = self.service.search_engine.search(
                conn, request, principal.visibility, access.keep(principal), access.include_keep(principal)
            )
        return [s.id for s in result.matches]

    # -- transaction -------------------------------------------------------------------------------------------------
    def _transaction(self, principal: Principal, entries: list[_Entry], base: str) -> FhirResponse:
        issues: list[Issue] = []
        resources: dict[int, dict[str, Any]] = {}
        ids: dict[str, str] = {}  # fullUrl -> Type/id
        for entry in entries:
            try:
                self._assign(principal, entry, resources, ids)
            except ValidationFailed as exc:
                issues.extend(exc.issues)
            except GatewayError as exc:
                raise _relocate(exc, entry.index) from exc
        if issues:
            raise ValidationFailed(issues)
        for index, resource in resources.items():
            resources[index] = self._rewrite(principal, resource, ids, index)
        writes = sorted((e for e in entries if e.method != "GET" and not e.skip_write), key=lambda e: ORDER[e.method])
        items = [self._write_item(e, resources.get(e.index)) for e in writes]
        outcomes = self.service.write(principal, items)
        by_index = {e.index: o for e, o in zip(writes, outcomes, strict=True)}
        response_entries = []
        for entry in entries:
            if entry.method == "GET":
                response_entries.append(self._get(principal, entry, base))
            elif entry.skip_write:
                response_entries.append(_skipped(entry))
            else:
                response_entries.append(self._entry_response(entry, by_index[entry.index], base))
        return FhirResponse(200, self._bundle("transaction-response", response_entries))

    def _assign(
        self, principal: Principal, entry: _Entry, resources: dict[int, dict[str, Any]], ids: dict[str, str]
    ) -> None:
        if entry.method in ("POST", "PUT"):
            resource = self._validated(principal, entry)
        if entry.method == "POST":
            if entry.if_none_exist:
                found = self._search_ids(principal, entry.resource_type, parse_qsl(entry.if_none_exist))
                if len(found) > 1:
                    raise PreconditionFailed("ifNoneExist matches more than one resource", expression="ifNoneExist")
                if found:
                    entry.resource_id, entry.skip_write = found[0], True
            if entry.resource_id is None:
                entry.resource_id = business_id(entry.resource_type, principal.write_tenant, resource)
            resources[entry.index] = {**resource, "id": entry.resource_id}
        elif entry.method == "PUT":
            if entry.resource_id is None:  # conditional update
                found = self._search_ids(principal, entry.resource_type, entry.query)
                if len(found) > 1:
                    raise PreconditionFailed("the conditional update matches more than one resource")
                entry.resource_id = found[0] if found else new_id()
                resource = {**resource, "id": entry.resource_id}
            resources[entry.index] = resource
        elif entry.method == "DELETE" and entry.resource_id is None:
            found = self._search_ids(principal, entry.resource_type, entry.query)
            if len(found) > 1:
                raise PreconditionFailed("the conditional delete matches more than one resource")
            entry.resource_id = found[0] if found else None
            entry.skip_write = not found
        elif entry.method not in ("GET", "DELETE"):
            raise InvalidRequest(f"method {entry.method} is not supported in a Bundle", expression=".request.method")
        if entry.full_url and entry.resource_id:
            ids[entry.full_url] = f"{entry.resource_type}/{entry.resource_id}"

    def _rewrite(self, principal: Principal, node: Any, ids: dict[str, str], index: int) -> Any:
        """Replace references to fullUrls and conditional references with the assigned ``Type/id``."""
        if isinstance(node, list):
            return [self._rewrite(principal, item, ids, index) for item in node]
        if not isinstance(node, dict):
            return node
        out = {k: self._rewrite(principal, v, ids, index) for k, v in node.items()}
        reference = out.get("reference")
        if isinstance(reference, str):
            if reference in ids:
                out["reference"] = ids[reference]
            elif reference.startswith("urn:uuid:") or reference.startswith("urn:oid:"):
                raise InvalidRequest(
                    f"reference {reference} names no entry of this transaction", expression=_at(index, ".resource")
                )
            elif "?" in reference:
                resource_type, _, query = reference.partition("?")
                found = self._search_ids(principal, resource_type, parse_qsl(query))
                if len(found) != 1:
                    raise PreconditionFailed(
                        f"conditional reference {reference} matches {len(found)} resources (exactly one is needed)",
                        expression=_at(index, ".resource"),
                    )
                out["reference"] = f"{resource_type}/{found[0]}"
        return out

    @staticmethod
    def _write_item(entry: _Entry, resource: dict[str, Any] | None) -> WriteItem:
        assert entry.resource_id is not None
        if entry.method == "DELETE":
            return WriteItem(entry.resource_type, entry.resource_id, None, if_match=entry.if_match, method="DELETE")
        return WriteItem(entry.resource_type, entry.resource_id, resource, if_match=entry.if_match, method=entry.method)

    def _entry_response(self, entry: _Entry, outcome: WriteOutcome, base: str) -> dict[str, Any]:
        if entry.method == "DELETE":
            return {"response": {"status": "204 No Content"}}
        stored = outcome.stored
        assert stored is not None
        status = 201 if outcome.outcome == "created" else 200
        return {
            "fullUrl": f"{base}/{stored.resource_type}/{stored.id}",
            "resource": _fragment(stored),
            "response": {
                "status": STATUS_TEXT[status],
                "location": f"{stored.resource_type}/{stored.id}/_history/{stored.version_id}",
                "etag": stored.etag,
                "lastModified": format_instant(stored.last_updated),
            },
        }

    def _get(self, principal: Principal, entry: _Entry, base: str) -> dict[str, Any]:
        try:
            if entry.resource_id:
                response = self.service.read(principal, entry.resource_type, entry.resource_id, base)
            else:
                response = self.service.search(principal, entry.resource_type, entry.query, base, strict=False)
        except GatewayError as exc:
            return {"response": {"status": _status_line(exc.status), "outcome": exc.to_operation_outcome()}}
        body = _fragment(response.body) if isinstance(response.body, StoredResource) else response.body
        body = orjson.Fragment(body) if isinstance(body, bytes) else body  # an answer assembled as JSON already
        return {"resource": body, "response": {"status": STATUS_TEXT[response.status]}}

    # -- batch -------------------------------------------------------------------------------------------------------
    def _batch(self, principal: Principal, entries: list[_Entry], base: str) -> FhirResponse:
        responses = []
        for entry in sorted(entries, key=lambda e: ORDER.get(e.method, 9)):
            try:
                responses.append((entry.index, self._batch_entry(principal, entry, base)))
            except GatewayError as exc:
                located = _relocate(exc, entry.index)
                status = _status_line(located.status)
                responses.append(
                    (entry.index, {"response": {"status": status, "outcome": located.to_operation_outcome()}})
                )
        responses.sort(key=lambda pair: pair[0])
        return FhirResponse(200, self._bundle("batch-response", [r for _, r in responses]))

    def _batch_entry(self, principal: Principal, entry: _Entry, base: str) -> dict[str, Any]:
        if entry.method == "GET":
            return self._get(principal, entry, base)
        resources: dict[int, dict[str, Any]] = {}
        ids: dict[str, str] = {}
        self._assign(principal, entry, resources, ids)
        if entry.skip_write:
            return _skipped(entry)
        outcome = self.service.write(principal, [self._write_item(entry, resources.get(entry.index))])[0]
        return self._entry_response(entry, outcome, base)

    @staticmethod
    def _bundle(kind: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "id": new_id(),
            "meta": {"lastUpdated": format_instant(utc_now())},
            "type": kind,
        }
        if entries:
            bundle["entry"] = entries
        return bundle


def _status_line(status: int) -> str:
    """``Bundle.entry.response.status``: the HTTP code and its standard reason phrase (``422 Unprocessable Entity``)."""
    return f"{status} {HTTPStatus(status).phrase}"


def _skipped(entry: _Entry) -> dict[str, Any]:
    """The response to an entry that needed no write (ifNoneExist matched, conditional delete matched nothing)."""
    response: dict[str, Any] = {"status": "200 OK"}
    if entry.resource_id:
        response["location"] = f"{entry.resource_type}/{entry.resource_id}"
    return {"response": response}


def _fragment(stored: StoredResource) -> Any:
    return orjson.Fragment(stored.content)


def _entry_path(index: int, expression: str) -> str:
    """``Patient.name[0]`` found in entry 3 -> ``Bundle.entry[3].resource.name[0]``."""
    if expression.startswith("Bundle."):
        return expression
    head, dot, rest = expression.partition(".")
    if head[:1].isupper() and "[" not in head and ":" not in head:
        return _at(index, ".resource" + (dot + rest if dot else ""))
    return _at(index, ".request")


def _prefixed(index: int, diagnostics: str) -> str:
    prefix = f"entry {index}: "
    return diagnostics if diagnostics.startswith(prefix) else prefix + diagnostics


def _relocate(exc: GatewayError, index: int) -> GatewayError:
    """The same error, with its locations inside the entry it came from (relocating twice changes nothing)."""
    issues = [
        Issue(
            i.severity,
            i.code,
            _prefixed(index, i.diagnostics),
            tuple(_entry_path(index, e) for e in i.expression) or (_at(index),),
            i.details_code,
        )
        for i in exc.issues
    ]
    relocated = type(exc).__new__(type(exc))
    GatewayError.__init__(relocated, _prefixed(index, exc.diagnostics), code=exc.code, issues=issues)
    return relocated


__all__ = ["BundleProcessor"]
