"""The resource types the gateway stores and serves."""

from __future__ import annotations

SUPPORTED_TYPES: tuple[str, ...] = (
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "HealthcareService",
    "Schedule",
    "Slot",
    "Appointment",
    "CareTeam",
    "CarePlan",
    "PlanDefinition",
    "Task",
    "ServiceRequest",
    "Consent",
    "Measure",
    "MeasureReport",
    "Provenance",
    "AuditEvent",
    "ChargeItem",
    "Claim",
    "ClaimResponse",
    "Communication",
    "Subscription",
)

SUPPORTED = frozenset(SUPPORTED_TYPES)

__all__ = ["SUPPORTED", "SUPPORTED_TYPES"]
