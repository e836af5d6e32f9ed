"""Access decisions on resources: role and scopes (what types), tenant (whose), consent (which patients).

The FHIR service asks this module before it answers: :meth:`AccessPolicy.check_search` before a search runs (types,
includes, chains, counts), :meth:`keep` to filter what a search or an ``_include`` may return, :meth:`check_read`
for a read, vread or instance history, and :meth:`check_write` before a write. Every decision lands in the
request's ledger (security/ledger.py) and so in the AuditEvent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from gateway.errors import Forbidden
from gateway.fhir.query import SearchRequest
from gateway.fhir.search import Keep
from gateway.storage.store import StoredResource
from security import consent
from security.consent import ConsentEngine, Decision
from security.ledger import current
from security.principal import Principal

_EPOCH = datetime(1970, 1, 1)


def disclosed(principal: Principal, resources: list[StoredResource]) -> None:
    """Note in the request's ledger what is about to leave, with the patients it concerns."""
    patients: set[str] = set()
    for r in resources:
        if r.resource_type == "Patient":
            patients.add(f"Patient/{r.id}")
        elif r.resource_type in principal.role.patient_data:
            patients.update(f"Patient/{p}" for p in consent.patient_ids(r.resource_type, r.json()))
    current().disclose([r.reference for r in resources], patients)


def disclosed_by_count(principal: Principal, slots: int, resources: list[StoredResource]) -> None:
    """Note what an INT_R04 answer discloses: its ``slots`` matching Slots and its included ``resources``. Those that
    are no patient's data for this principal (the whole answer, for the SAS) are recorded by type and number, not one
    reference each: the query, the time and the version history identify them, and hundreds of references would make
    each event about 60 kB. Patient data, if any, is listed as :func:`disclosed` does."""
    if "Slot" in principal.role.patient_data:
        raise ValueError("Slots are patient data for this role: list them with disclosed()")
    ledger = current()
    ledger.count("Slot", slots)
    listed = []
    for resource in resources:
        if resource.resource_type == "Patient" or resource.resource_type in principal.role.patient_data:
            listed.append(resource)
        else:
            ledger.count(resource.resource_type, 1)
    if listed:
        disclosed(principal, listed)


def _tenant_refusal(principal: Principal, reference: str) -> Forbidden:
    return Forbidden(
        f"{reference} belongs to another centre: {principal.subject} ({principal.role.name}) may not access it",
        expression=reference.split("/")[0],
        code="SEC-TENANT",
    )


class AccessPolicy:
    def __init__(self, engine: ConsentEngine | None = None) -> None:
        self.consent = engine or ConsentEngine()

    # -- searches --------------------------------------------------------------------------------------------------
    def check_search(self, principal: Principal, request: SearchRequest) -> None:
        """Refuse, before running it, a search whose very shape would reach what the principal may not see."""
        principal.require("search", request.resource_type)
        for include in request.includes:
            named = include.source_type if include.reverse else include.target_type
            if named is not None and not principal.may("read", named):
                raise Forbidden(
                    f"{include.render()}: {principal.role.name} may not read {named}",
                    expression=f"parameter:{'_revinclude' if include.reverse else '_include'}",
                    code="SEC-ROLE",
                )
        for f in request.filters:
            for hop in f.chain:
                readable = [t for t in hop.target_types if principal.may("read", t)]
                if not readable:
                    raise Forbidden(
                        f"{f.name}: {principal.role.name} may not search through {', '.join(hop.target_types)}",
                        expression=f"parameter:{f.name}",
                        code="SEC-ROLE",
                    )
                if principal.role.consent and any(t in principal.role.patient_data for t in hop.target_types):
                    raise Forbidden(
                        f"{f.name}: a chain through patient data would test data the consent rules may hide; "
                        "search by reference (e.g. patient=Patient/id) instead",
                        expression=f"parameter:{f.name}",
                        code="CONSENT-CHAIN",
                    )
        counting = request.summary == "count" or request.total == "accurate"
        if counting and principal.role.consent and request.resource_type in principal.role.patient_data:
            raise Forbidden(
                "counts are not given to roles whose results the consent rules filter: they would tell how many "
                "records were hidden",
                expression="parameter:_summary" if request.summary == "count" else "parameter:_total",
                code="CONSENT-COUNT",
            )

    def keep(self, principal: Principal) -> Keep | None:
        """The consent filter of search matches; None when consent does not apply to the principal's role."""
        if not principal.role.consent:
            return None

        def keep(conn: Connection, resources: list[StoredResource]) -> list[StoredResource]:
            return self.consented(conn, principal, resources)

        return keep

    def include_keep(self, principal: Principal) -> Keep:
        """What ``_include``/``_revinclude`` may add: readable types only, then the consent filter."""

        def keep(conn: Connection, resources: list[StoredResource]) -> list[StoredResource]:
            readable = [r for r in resources if principal.may("read", r.resource_type)]
            hidden = len(resources) - len(readable)
            if hidden:
                current().denials["SEC-ROLE"] += hidden
            return self.consented(conn, principal, readable) if principal.role.consent else readable

        return keep

    # -- one resource ----------------------------------------------------------------------------------------------
    def check_read(self, conn: Connection, principal: Principal, stored: StoredResource) -> None:
        if not principal.visibility.allows(stored.tenant):
            raise _tenant_refusal(principal, stored.reference)
        if principal.role.consent and stored.resource_type in principal.role.patient_data:
            decision = self.decisions(conn, principal, [stored])[0]
            if not decision.permit:
                raise self._consent_refusal(principal, stored.reference, decision)

    def check_write(
        self, conn: Connection, principal: Principal, resource_type: str, resource: dict[str, object]
    ) -> None:
        """A consent-bound writer (a practitioner creating a referral) may only write about patients it may see."""
        if not (principal.role.consent and resource_type in principal.role.patient_data):
            return
        stored = StoredResource(resource_type, str(resource.get("id")), 0, _EPOCH, False, None, "{}")
        decision = self._decide(conn, principal, [(stored, resource)])[0]
        if not decision.permit and decision.reason != consent.NO_PATIENT:
            raise self._consent_refusal(principal, f"{resource_type} about this patient", decision)

    # -- consent -------------------------------------------------------------------------------------------------
    def consented(
        self, conn: Connection, principal: Principal, resources: list[StoredResource]
    ) -> list[StoredResource]:
        decisions = self.decisions(conn, principal, resources)
        return [r for r, d in zip(resources, decisions, strict=True) if d.permit]

    def decisions(self, conn: Connection, principal: Principal, resources: list[StoredResource]) -> list[Decision]:
        clinical = [(r, r.json()) for r in resources if r.resource_type in principal.role.patient_data]
        decided = iter(self._decide(conn, principal, clinical))
        out = []
        for resource in resources:
            if resource.resource_type in principal.role.patient_data:
                out.append(next(decided))
            else:
                out.append(Decision(True, "SEC-NOT-PATIENT-DATA"))
        return out

    def _decide(
        self, conn: Connection, principal: Principal, items: list[tuple[StoredResource, dict[str, object]]]
    ) -> list[Decision]:
        if not items:
            return []
        actor = self.consent.actor(conn, principal.practitioner_id, principal.structures, principal.profession)
        about = [
            {r.id} if r.resource_type == "Patient" else consent.patient_ids(r.resource_type, body) for r, body in items
        ]
        facts = self.consent.facts(conn, actor, [p for ids in about for p in ids])
        ledger = current()
        decisions: list[Decision] = []
        for (stored, body), patients in zip(items, about, strict=True):
            if not patients:  # patient data about no one in particular: its own centre's only
                mine = stored.tenant is not None and stored.tenant in actor.structures
                decision = Decision(mine, consent.HOLDING_CENTRE if mine else consent.NO_PATIENT)
            else:
                per_patient = [
                    consent.decide(actor, facts[p]) if p in facts else Decision(False, consent.UNKNOWN_PATIENT)
                    for p in sorted(patients)
                ]
                refused = next((d for d in per_patient if not d.permit), None)
                decision = refused or per_patient[0]
                if decision.reason == consent.REQUIRED and consent.addressed_to(actor, stored.resource_type, body):
                    decision = Decision(True, consent.REFERRAL)  # the referral's recipient (rule 4)
            (ledger.permits if decision.permit else ledger.denials)[decision.reason] += 1
            decisions.append(decision)
        return decisions

    @staticmethod
    def _consent_refusal(principal: Principal, what: str, decision: Decision) -> Forbidden:
        because = {
            consent.OBJECTION: "the patient objected to sharing",
            consent.REQUIRED: "the practitioner is outside the patient's care team and holds no consent of the patient",
            consent.UNKNOWN_PATIENT: "the patient is not known",
            consent.NO_PATIENT: "it belongs to another centre",
        }.get(decision.reason, decision.reason)
        return Forbidden(
            f"{what}: access refused to {principal.subject}: {because}",
            expression=what.split("/")[0].split(" ")[0],
            code=decision.reason,
        )


__all__ = ["AccessPolicy", "disclosed", "disclosed_by_count"]
