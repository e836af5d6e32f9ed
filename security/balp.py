"""An :class:`~security.audit.AuditRecord` as a FHIR R4 AuditEvent following IHE BALP (Basic Audit Log Patterns).

Shape, per BALP (https://profiles.ihe.net/ITI/BALP):

- ``type``: ``audit-event-type#rest`` for every RESTful interaction, searches included (the BALP Query profiles use
  ``rest`` + subtype ``search-type``; DICOM 110112 "Query" is the ATNA code of non-REST queries). Token issuance is
  DICOM 110114 "User Authentication" with subtype ITI-71 (IUA "Get Access Token"); ingest is DICOM 110107 "Import".
- ``subtype``: the ``restful-interaction`` code (read, vread, search-type, history-instance, create, ...); the BALP
  authorization subtype (``AuthZ-Consent`` or ``AuthZ-Role``) when a policy decision was taken; and always the
  gateway's own action code (system ``urn:cpts-gateway:audit-action``), from which the ``action`` column derives.
- ``action`` C/R/U/D/E (searches E, as in BALP); ``outcome`` 0/4/8/12 and ``outcomeDesc``.
- ``agent``: the requestor (``requestor: true``): an idNat_PS (``urn:oid:1.2.250.1.71.4.2.1``) for a practitioner,
  else the OAuth client, certificate subject or "anonymous"; its role; ``who.identifier.assigner`` names the issuer
  that vouched for it; its network address. A practitioner acting through an OAuth client gets a second, client
  agent. The gateway is the server agent (DICOM 110152/110153 as BALP assigns them per interaction) and the
  ``source`` observer; the caller's centre is a ``PROV`` organisation agent.
- ``entity``: X-Request-ID (BALP ``XrequestId``); each resource touched (role 4 "Domain Resource"); the query of a
  search, base64 (role 24 "Query"); one entity per patient concerned (type 1 "Person", role 1 "Patient"); for a
  token, the issued token id (role 13 "Security Resource").
- **Policy decision.** R4 has no element for it (R5 adds ``authorization``), and BALP records decisions as a
  Security Alert with an ``AuthZ-*`` subtype. One event per request carries it here as: that ``AuthZ-*`` subtype;
  ``agent.policy`` holding the rule's URI ``urn:cpts-gateway:policy:<REASON>`` (next to the token id
  ``urn:ietf:params:oauth:jti:<jti>``, as BALP puts it); and a decision entity (type 2 "System Object", role 13
  "Security Resource", ``what.identifier`` = permit|deny in ``urn:cpts-gateway:policy-decision``, details
  ``decision`` and ``reason``) that an auditor can filter on. ``purposeOfEvent`` is left for a purpose of use.

Deliberate departure: BALP would write one event per patient of a multi-patient search; this gateway writes one
event per request with one patient entity per patient (same information, one hash-chain link per request).
Never any clinical content or names: search values of demographic parameters (name, address, telecom, birth
date, free text) are replaced by ``redacted`` before the query is encoded.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

if TYPE_CHECKING:
    from security.audit import AuditRecord

DCM = "http://dicom.nema.org/resources/ontology/DCM"
EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL = "http://hl7.org/fhir/restful-interaction"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ROLE_CLASS = "http://terminology.hl7.org/CodeSystem/v3-RoleClass"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
NETWORK_TYPE = "http://hl7.org/fhir/network-type"
BALP = "https://profiles.ihe.net/ITI/BALP"
AUTHZ_SUBTYPE = f"{BALP}/CodeSystem/AuthZsubType"
BALP_ENTITY_TYPE = f"{BALP}/CodeSystem/BasicAuditEntityType"
USER_AGENT_TYPE = f"{BALP}/CodeSystem/UserAgentTypes"
ACTION_SYSTEM = "urn:cpts-gateway:audit-action"
ROLE_SYSTEM = "urn:cpts-gateway:role"
CLIENT_SYSTEM = "urn:cpts-gateway:client"
CERTIFICATE_SYSTEM = "urn:cpts-gateway:certificate-subject"
DECISION_SYSTEM = "urn:cpts-gateway:policy-decision"
POLICY_PREFIX = "urn:cpts-gateway:policy:"
JTI_PREFIX = "urn:ietf:params:oauth:jti:"
IDNAT_PS = "urn:oid:1.2.250.1.71.4.2.1"
SUBJECT_SYSTEM = "urn:cpts-gateway:subject"
_IDNAT_PS_VALUE = re.compile(r"8\d{11}|0\d{9}")  # 8 + RPPS, 0 + ADELI
FINESS = "https://finess.esante.gouv.fr"
TENANT_SYSTEM = "urn:cpts-gateway:tenant"

OUTCOMES = {"0": "Success", "4": "Minor failure", "8": "Serious failure", "12": "Major failure"}
# gateway action -> (FHIR AuditEvent.action, BALP profile of a success, with patient)
_ACTIONS: dict[str, tuple[str, str | None, str | None]] = {
    "read": ("R", "Read", "PatientRead"),
    "vread": ("R", "Read", "PatientRead"),
    "history": ("R", None, None),
    "search": ("E", "Query", "PatientQuery"),
    "create": ("C", "Create", "PatientCreate"),
    "update": ("U", "Update", "PatientUpdate"),
    "delete": ("D", "Delete", "PatientDelete"),
    "transaction": ("E", None, None),
    "batch": ("E", None, None),
    "operation": ("E", None, None),
    "token": ("E", None, None),
    "ingest": ("C", None, None),
}
_WRITES = frozenset({"create", "update", "delete", "ingest"})
# Search parameters whose values identify a person by name, address, contact or birth, or carry free text.
REDACTED_PARAMETERS = frozenset(
    {"name", "family", "given", "phonetic", "address", "address-city", "address-postalcode", "address-state",
     "address-country", "telecom", "phone", "email", "birthdate", "death-date", "_content", "_text", "text"}
)  # fmt: skip


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def redact_query(query: str) -> str:
    """The query with the values of demographic and free-text parameters replaced; untouched when none occurs."""
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(_parameter(name) in REDACTED_PARAMETERS for name, _ in pairs):
        return query
    cleaned = [(name, "redacted" if _parameter(name) in REDACTED_PARAMETERS else value) for name, value in pairs]
    return urlencode(cleaned, safe=":|/,")


def _parameter(name: str) -> str:
    """``subject:Patient.name:exact`` -> ``name``: the parameter that finally receives the value."""
    return name.rsplit(".", 1)[-1].split(":", 1)[0]


def _subtype(rec: AuditRecord) -> str | None:
    action = rec.action
    if action == "search":
        return "search-type" if rec.resource_type else "search-system"
    if action == "history":
        if rec.resource_ids:
            return "history-instance"
        return "history-type" if rec.resource_type else "history-system"
    if action in ("read", "vread", "create", "update", "delete", "transaction", "batch", "operation"):
        return action
    return None


def _identity_system(rec: AuditRecord) -> str:
    if rec.practitioner_id or (rec.role == "practitioner" and _IDNAT_PS_VALUE.fullmatch(rec.agent)):
        return IDNAT_PS
    if rec.role == "practitioner":
        return SUBJECT_SYSTEM  # an external issuer's subject that is not an idNat_PS
    if rec.issuer == "mtls":
        return CERTIFICATE_SYSTEM
    return CLIENT_SYSTEM


def _network(address: str | None, kind: str = "2") -> dict[str, str] | None:
    return {"address": address, "type": kind} if address else None


def _agents(rec: AuditRecord, server: dict[str, Any], reads: bool) -> list[dict[str, Any]]:
    """The requestor (with its role, policies and address), its client when distinct, the server, its centre."""
    policies = [f"{JTI_PREFIX}{rec.token_id}"] if rec.token_id else []
    if rec.reason:
        policies.append(f"{POLICY_PREFIX}{rec.reason}")
    who_value = rec.practitioner_id or rec.agent
    identifier: dict[str, Any] = {"system": _identity_system(rec), "value": who_value}
    if rec.issuer:
        identifier["assigner"] = {"display": rec.issuer}
    client_type = _coding(DCM, "110152", "Destination Role ID") if reads else _coding(DCM, "110153", "Source Role ID")
    if rec.action == "token":
        client_type = _coding(DCM, "110150", "Application")
    distinct_client = rec.client is not None and rec.client != who_value
    requestor: dict[str, Any] = {"who": {"identifier": identifier}, "requestor": True}
    if distinct_client:
        user_type = _coding(PARTICIPATION, "AUT", "author (originator)") if rec.action in _WRITES else None
        requestor["type"] = {"coding": [user_type or _coding(PARTICIPATION, "IRCP", "information recipient")]}
    else:
        requestor["type"] = {"coding": [client_type]}
        if (network := _network(rec.address)) is not None:
            requestor["network"] = network
    if rec.role:
        requestor["role"] = [{"coding": [_coding(ROLE_SYSTEM, rec.role)]}]
    if policies:
        requestor["policy"] = policies
    agents = [requestor]
    if distinct_client:
        client: dict[str, Any] = {
            "type": {"coding": [client_type]},
            "who": {"identifier": {"system": CLIENT_SYSTEM, "value": rec.client}},
            "requestor": False,
        }
        if (network := _network(rec.address)) is not None:
            client["network"] = network
        agents.append(client)
    agents.append(server)
    if rec.tenant:
        system = FINESS if len(rec.tenant) == 9 and rec.tenant.isalnum() else TENANT_SYSTEM
        agents.append(
            {
                "type": {"coding": [_coding(ROLE_CLASS, "PROV", "healthcare provider")]},
                "who": {"identifier": {"system": system, "value": rec.tenant}},
                "requestor": False,
            }
        )
    return agents


def _entities(rec: AuditRecord) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    if rec.request_id:
        entities.append(
            {"type": _coding(BALP_ENTITY_TYPE, "XrequestId"), "what": {"identifier": {"value": rec.request_id}}}
        )
    system_object, domain_resource = (
        _coding(ENTITY_TYPE, "2", "System Object"),
        _coding(OBJECT_ROLE, "4", "Domain Resource"),
    )
    for reference in rec.resource_ids:  # (the codings are shared: the event is only serialised)
        entities.append({"type": system_object, "role": domain_resource, "what": {"reference": reference}})
    if rec.action in ("search", "history") or rec.query:
        target = redact_query(rec.query or "")
        if rec.action != "token":
            target = f"{rec.resource_type or ''}?{target}"
        query: dict[str, Any] = {
            "type": _coding(ENTITY_TYPE, "2", "System Object"),
            "role": _coding(OBJECT_ROLE, "24", "Query"),
            "query": base64.b64encode(target.encode()).decode(),
        }
        if rec.path:
            query["description"] = rec.path
        entities.append(query)
    if rec.action == "token" and rec.token_id:
        token: dict[str, Any] = {
            "type": _coding(USER_AGENT_TYPE, "UserOauthAgent", "User OAuth Agent participant"),
            "role": _coding(OBJECT_ROLE, "13", "Security Resource"),
            "what": {"identifier": {"value": f"{JTI_PREFIX}{rec.token_id}"}},
        }
        if rec.scope:
            token["detail"] = [{"type": "scope", "valueString": rec.scope}]
        entities.append(token)
    for patient in dict.fromkeys(rec.patients):
        entities.append(
            {
                "type": _coding(ENTITY_TYPE, "1", "Person"),
                "role": _coding(OBJECT_ROLE, "1", "Patient"),
                "what": {"reference": patient},
            }
        )
    if rec.decision:
        detail = [{"type": "decision", "valueString": rec.decision}]
        if rec.reason:
            detail.append({"type": "reason", "valueString": rec.reason})
        entities.append(
            {
                "type": _coding(ENTITY_TYPE, "2", "System Object"),
                "role": _coding(OBJECT_ROLE, "13", "Security Resource"),
                "what": {"identifier": {"system": DECISION_SYSTEM, "value": rec.decision}},
                "detail": detail,
            }
        )
    return entities


def build_event(rec: AuditRecord, recorded: str, observer: str) -> dict[str, Any]:
    """The AuditEvent of ``rec`` (without ``id``: the chain assigns it), ``recorded`` a FHIR instant."""
    if rec.outcome not in OUTCOMES:
        raise ValueError(f"AuditRecord.outcome must be one of {', '.join(OUTCOMES)}, not {rec.outcome!r}")
    action_code, profile, patient_profile = _ACTIONS.get(rec.action, ("E", None, None))
    subtype = []
    if rec.action == "token":
        event_type = _coding(DCM, "110114", "User Authentication")
        subtype.append(_coding("urn:ihe:event-type-code", "ITI-71", "Get Access Token"))
    elif rec.action == "ingest":
        event_type = _coding(DCM, "110107", "Import")
    else:
        event_type = _coding(EVENT_TYPE, "rest", "Restful Operation")
        if (interaction := _subtype(rec)) is not None:
            subtype.append(_coding(RESTFUL, interaction, interaction))
    if rec.decision:
        consent = (rec.reason or "").startswith("CONSENT")
        subtype.append(_coding(AUTHZ_SUBTYPE, "AuthZ-Consent" if consent else "AuthZ-Role"))
    subtype.append(_coding(ACTION_SYSTEM, rec.action))
    reads = action_code == "R"
    observer_id = {"identifier": {"system": "urn:ietf:rfc:3986", "value": observer}, "display": "cpts-gateway"}
    server: dict[str, Any] = {
        "type": {
            "coding": [
                _coding(DCM, "110153", "Source Role ID") if reads else _coding(DCM, "110152", "Destination Role ID")
            ]
        },
        "who": observer_id,
        "requestor": False,
        "network": {"address": observer, "type": "5"},  # 5: URI
    }
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "type": event_type,
        "subtype": subtype,
        "action": action_code,
        "recorded": recorded,
        "outcome": rec.outcome,
        "agent": _agents(rec, server, reads),
        "source": {
            "site": "cpts-gateway",
            "observer": observer_id,
            "type": [_coding(SOURCE_TYPE, "6" if rec.action == "token" else "4")],
        },
    }
    if rec.outcome == "0" and profile is not None:
        name = patient_profile if rec.patients else profile
        event["meta"] = {"profile": [f"{BALP}/StructureDefinition/IHE.BasicAudit.{name}"]}
    description = rec.detail or (rec.reason if rec.decision == "deny" else None)
    if description or rec.outcome != "0":
        event["outcomeDesc"] = description or OUTCOMES.get(rec.outcome, "failure")
    entities = _entities(rec)
    if entities:
        event["entity"] = entities
    return event


def columns(event: dict[str, Any]) -> dict[str, Any]:
    """The searchable columns of an event, derived from it (so ``verify`` can check them against the hashed JSON)."""
    action = next(c["code"] for c in event["subtype"] if c["system"] == ACTION_SYSTEM)
    agent = next(a for a in event["agent"] if a.get("requestor"))
    patient = next(
        (e["what"]["reference"] for e in event.get("entity", ()) if e.get("role", {}).get("code") == "1"), None
    )
    return {
        "action": action[:16],
        "outcome": event["outcome"][:8],
        "agent": str(agent["who"]["identifier"]["value"])[:255],
        "patient": patient[:128] if patient else None,
    }


def recorded_instant(moment: datetime) -> str:
    """A naive-UTC datetime as the FHIR instant the event and the hash carry (microseconds, ``Z``)."""
    return moment.isoformat(timespec="microseconds") + "Z"


__all__ = ["OUTCOMES", "build_event", "columns", "recorded_instant", "redact_query"]
