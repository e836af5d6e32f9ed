"""The AuditEvents are FHIR R4 (checked with the fhir.resources R4B models) and follow the IHE BALP patterns."""

from __future__ import annotations

import base64
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from fhir.resources.R4B.auditevent import AuditEvent
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from gateway.settings import Settings
from security.audit import EVENTS, AuditRecord, AuditTrail
from security.balp import REDACTED_PARAMETERS, redact_query

BALP = "https://profiles.ihe.net/ITI/BALP"
IDNAT_PS = "urn:oid:1.2.250.1.71.4.2.1"


def recorded(engine: Engine, settings: Settings, **fields: Any) -> dict[str, Any]:
    """Record one event with a unique agent, read it back from the database, and validate it as FHIR."""
    fields.setdefault("agent", f"balp-{uuid.uuid4()}")
    AuditTrail(engine, settings).record(AuditRecord(**fields))
    with engine.connect() as conn:
        body = conn.execute(select(EVENTS.c.event).where(EVENTS.c.agent == fields["agent"])).scalar_one()
    event: dict[str, Any] = orjson.loads(body)
    AuditEvent.model_validate(event)
    return event


def codes(event: dict[str, Any], system: str) -> list[str]:
    return [c["code"] for c in event["subtype"] if c["system"] == system]


def requestor(event: dict[str, Any]) -> dict[str, Any]:
    (agent,) = [a for a in event["agent"] if a["requestor"]]
    return agent


def entities(event: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [e for e in event.get("entity", []) if e.get("role", {}).get("code") == role]


def test_a_read_of_a_patient_resource_is_a_balp_patient_read(engine: Engine, settings: Settings) -> None:
    event = recorded(
        engine, settings, action="read", outcome="0", role="centre-system", client=None, issuer=settings.issuer,
        tenant="750012345", resource_type="Appointment", resource_ids=("Appointment/a1",), patients=("Patient/p1",),
        decision="permit", reason="SEC-TENANT-OWN", address="10.1.2.3", request_id="req-1",
        path="GET /fhir/Appointment/a1", token_id="jti-1",
    )  # fmt: skip
    assert event["type"] == {
        "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
        "code": "rest",
        "display": "Restful Operation",
    }
    assert codes(event, "http://hl7.org/fhir/restful-interaction") == ["read"]
    assert event["action"] == "R"
    assert event["outcome"] == "0"
    assert event["meta"]["profile"] == [f"{BALP}/StructureDefinition/IHE.BasicAudit.PatientRead"]
    who = requestor(event)
    assert who["network"] == {"address": "10.1.2.3", "type": "2"}
    assert who["role"][0]["coding"][0]["code"] == "centre-system"
    assert "urn:ietf:params:oauth:jti:jti-1" in who["policy"]
    assert who["type"]["coding"][0]["code"] == "110152"  # BALP Read: the client receives the data
    server = next(a for a in event["agent"] if a["who"].get("display") == "cpts-gateway")
    assert server["type"]["coding"][0]["code"] == "110153"
    org = next(a for a in event["agent"] if a["type"]["coding"][0]["code"] == "PROV")
    assert org["who"]["identifier"] == {"system": "https://finess.esante.gouv.fr", "value": "750012345"}
    assert event["source"]["observer"]["identifier"]["value"] == settings.issuer.rstrip("/")
    (data,) = entities(event, "4")
    assert data["what"] == {"reference": "Appointment/a1"}
    (patient,) = entities(event, "1")
    assert patient["type"]["code"] == "1"
    assert patient["what"] == {"reference": "Patient/p1"}
    request = next(e for e in event["entity"] if e["type"]["code"] == "XrequestId")
    assert request["what"]["identifier"]["value"] == "req-1"


def test_a_practitioner_search_carries_the_query_the_patients_and_the_consent_decision(
    engine: Engine, settings: Settings
) -> None:
    event = recorded(
        engine, settings, action="search", outcome="0", agent="810002345678", role="practitioner",
        client="psc-portal", issuer="https://psc.example", resource_type="Appointment",
        patients=("Patient/p1", "Patient/p2", "Patient/p1"), query="patient=Patient/p1&patient.name=Dupont&_count=5",
        decision="permit", reason="CONSENT-CARE-TEAM", address="192.0.2.7", path="GET /fhir/Appointment",
    )  # fmt: skip
    assert event["type"]["code"] == "rest"
    assert codes(event, "http://hl7.org/fhir/restful-interaction") == ["search-type"]
    assert codes(event, f"{BALP}/CodeSystem/AuthZsubType") == ["AuthZ-Consent"]
    assert event["action"] == "E"
    assert event["meta"]["profile"] == [f"{BALP}/StructureDefinition/IHE.BasicAudit.PatientQuery"]
    who = requestor(event)
    assert who["who"]["identifier"]["system"] == IDNAT_PS
    assert who["who"]["identifier"]["value"] == "810002345678"
    assert who["who"]["identifier"]["assigner"] == {"display": "https://psc.example"}
    assert who["type"]["coding"][0]["code"] == "IRCP"
    assert "urn:cpts-gateway:policy:CONSENT-CARE-TEAM" in who["policy"]
    client = next(a for a in event["agent"] if a["who"]["identifier"].get("value") == "psc-portal")
    assert client["requestor"] is False
    assert client["network"]["address"] == "192.0.2.7"
    (query,) = entities(event, "24")
    raw = base64.b64decode(query["query"]).decode()
    assert raw == "Appointment?patient=Patient/p1&patient.name=redacted&_count=5"
    assert "Dupont" not in orjson.dumps(event).decode()
    assert query["description"] == "GET /fhir/Appointment"
    assert [e["what"]["reference"] for e in entities(event, "1")] == ["Patient/p1", "Patient/p2"]
    (decision,) = [e for e in entities(event, "13") if e["what"]["identifier"].get("system")]
    assert decision["what"]["identifier"] == {"system": "urn:cpts-gateway:policy-decision", "value": "permit"}
    assert {d["type"]: d["valueString"] for d in decision["detail"]} == {
        "decision": "permit", "reason": "CONSENT-CARE-TEAM"
    }  # fmt: skip


def test_a_create_is_action_c_with_the_created_resource(engine: Engine, settings: Settings) -> None:
    event = recorded(
        engine, settings, action="create", outcome="0", role="centre-system", resource_type="Slot",
        resource_ids=("Slot/new-1",), address="10.0.0.1",
    )  # fmt: skip
    assert codes(event, "http://hl7.org/fhir/restful-interaction") == ["create"]
    assert event["action"] == "C"
    assert event["meta"]["profile"] == [f"{BALP}/StructureDefinition/IHE.BasicAudit.Create"]
    assert requestor(event)["type"]["coding"][0]["code"] == "110153"  # BALP Create: the client is the source
    assert [e["what"]["reference"] for e in entities(event, "4")] == ["Slot/new-1"]
    assert "outcomeDesc" not in event


def test_a_denial_is_a_minor_failure_with_the_deny_decision_and_its_reason(engine: Engine, settings: Settings) -> None:
    event = recorded(
        engine, settings, action="read", outcome="4", agent="810009999999", role="practitioner",
        resource_type="Patient", resource_ids=("Patient/p9",), patients=("Patient/p9",), decision="deny",
        reason="CONSENT-OBJECTION", address="198.51.100.4",
    )  # fmt: skip
    assert event["outcome"] == "4"
    assert event["outcomeDesc"] == "CONSENT-OBJECTION"
    assert "meta" not in event  # the BALP profiles describe successes
    assert codes(event, f"{BALP}/CodeSystem/AuthZsubType") == ["AuthZ-Consent"]
    assert codes(event, "urn:cpts-gateway:audit-action") == ["read"]
    assert "urn:cpts-gateway:policy:CONSENT-OBJECTION" in requestor(event)["policy"]
    (decision,) = [e for e in entities(event, "13") if e["what"]["identifier"].get("system")]
    assert decision["what"]["identifier"]["value"] == "deny"


def test_an_unauthenticated_request_is_recorded_for_anonymous(engine: Engine, settings: Settings) -> None:
    event = recorded(
        engine, settings, action="search", outcome="4", agent=f"anonymous-{uuid.uuid4()}", resource_type="Slot",
        decision="deny", reason="SEC-UNAUTHENTICATED", detail="no bearer token", address="203.0.113.9",
    )  # fmt: skip
    assert event["outcomeDesc"] == "no bearer token"
    assert codes(event, f"{BALP}/CodeSystem/AuthZsubType") == ["AuthZ-Role"]
    assert "role" not in requestor(event)


def test_a_token_issuance_is_a_user_authentication_with_the_token_id(engine: Engine, settings: Settings) -> None:
    client = f"demo-centre-{uuid.uuid4()}"
    event = recorded(
        engine, settings, action="token", outcome="0", agent=client, client=client, role="centre-system",
        issuer=settings.issuer, tenant="750012345", query="grant_type=client_credentials&scope=system/*.rs",
        token_id="8c1d-jti", scope="system/*.rs", address="10.9.8.7", decision="permit", reason="SEC-CLIENT",
    )  # fmt: skip
    assert event["type"]["code"] == "110114"
    assert event["type"]["system"] == "http://dicom.nema.org/resources/ontology/DCM"
    assert codes(event, "urn:ihe:event-type-code") == ["ITI-71"]
    assert event["action"] == "E"
    who = requestor(event)
    assert who["type"]["coding"][0]["code"] == "110150"  # Application
    assert who["who"]["identifier"] == {
        "system": "urn:cpts-gateway:client", "value": client, "assigner": {"display": settings.issuer}
    }  # fmt: skip
    assert event["source"]["type"][0]["code"] == "6"  # Security Server
    token = next(e for e in entities(event, "13") if e["type"]["code"] == "UserOauthAgent")
    assert token["what"]["identifier"]["value"] == "urn:ietf:params:oauth:jti:8c1d-jti"
    assert token["detail"] == [{"type": "scope", "valueString": "system/*.rs"}]
    (request,) = entities(event, "24")
    assert base64.b64decode(request["query"]).decode() == "grant_type=client_credentials&scope=system/*.rs"


def test_every_other_action_is_valid_fhir(engine: Engine, settings: Settings) -> None:
    for action, ids in [("vread", ("Slot/s1",)), ("history", ("Slot/s1",)), ("history", ()), ("update", ("Task/t",)),
                        ("delete", ("Task/t",)), ("transaction", ()), ("batch", ()), ("operation", ()),
                        ("ingest", ()), ("search", ())]:  # fmt: skip
        event = recorded(engine, settings, action=action, outcome="0", resource_ids=ids, tenant="sandbox")
        assert codes(event, "urn:cpts-gateway:audit-action") == [action]


names = st.sampled_from(["name", "family", "given", "address", "birthdate", "_content", "identifier", "date", "x"])
values = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


@given(st.lists(st.tuples(names, values), min_size=1, max_size=6))
def test_redaction_removes_every_demographic_value_and_keeps_the_rest(pairs: list[tuple[str, str]]) -> None:
    query = urlencode(pairs)
    cleaned = parse_qsl(redact_query(query), keep_blank_values=True)
    assert [name for name, _ in cleaned] == [name for name, _ in pairs]
    for (name, value), (_, kept) in zip(pairs, cleaned, strict=True):
        assert kept == ("redacted" if name in REDACTED_PARAMETERS else value)
