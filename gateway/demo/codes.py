"""Identifier systems, code systems and extension URLs used by the demo territory (see french-interop.md)."""

from __future__ import annotations

from typing import Any

# Identifier systems
IDNPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
IDNST_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
RPPS_SYSTEM = "https://rpps.esante.gouv.fr"
FINESS_SYSTEM = "https://finess.esante.gouv.fr"
INS_NIR_TEST_SYSTEM = "urn:oid:1.2.250.1.213.1.4.10"
IPP_SYSTEM_PREFIX = "urn:cpts-gateway:ipp:"  # + FINESS of the centre holding the record
CARE_TEAM_SYSTEM_PREFIX = "urn:cpts-gateway:careteam:"  # + FINESS of the centre managing the care team

# Code systems
FR_IDENTIFIER_TYPE = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
IDENTITY_STATUS_SYSTEM = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0445"
VALIDATION_MODE_SYSTEM = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-mode-validation-identity"
COMMUNE_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM"
PROFESSION_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
SPECIALTY_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
SLOT_TYPE_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
ESTABLISHMENT_CATEGORY_SYSTEM = (
    "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/TRE-R66-CategorieEtablissement"
)
# The CDS value set (careteam-roles-vs) spells TRE_R259 with its /FHIR/ suffix, like every other NOS system.
PARTICIPATION_FUNCTION_SYSTEM = (
    "https://mos.esante.gouv.fr/NOS/TRE_R259-HL7ParticipationFunction/FHIR/TRE-R259-HL7ParticipationFunction"
)
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
APPOINTMENT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0276"
CANCELLATION_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
LOCATION_PHYSICAL_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/location-physical-type"
LOCATION_TYPE_SYSTEM = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-location-type"
SERVICE_TYPE_SYSTEM = "urn:cpts-gateway:healthcare-service-type"

# Extensions
IDENTITY_RELIABILITY_URL = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability"
BIRTH_PLACE_URL = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
INSEE_CODE_URL = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code"
BIRTH_LIST_GIVEN_NAME_URL = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-birth-list-given-name"
SLOT_SERVICE_TYPE_URL = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Slot.serviceType"

# Codes with their displays
IDENTITY_STATUSES: dict[str, str] = {
    "PROV": "Identité provisoire",
    "RECUP": "Identité récupérée",
    "VALI": "Identité validée",
    "QUAL": "Identité qualifiée",
}
VALIDATION_MODES: dict[str, str] = {
    "CN": "Carte nationale d'identité",
    "PA": "Passeport",
    "CS": "Carte de séjour",
    "LE": "Livret de famille",
    "AN": "Extrait d'acte de naissance",
}
SLOT_TYPES: dict[str, str] = {
    "PUBLIC": "Créneau accessible par le grand public",
    "PRO": "Créneau accessible par les professionnels de santé",
    "SNP": "Créneau accessible par les Régulateurs et Organisateurs de Soins Non Programmés",
    "CPTS": "Créneau accessible par les CPTS",
}
ACT_CODES: dict[str, str] = {"AMB": "ambulatory", "HH": "home health", "VR": "virtual"}
APPOINTMENT_TYPES: dict[str, str] = {
    "ROUTINE": "Routine appointment - default if not valued",
    "WALKIN": "A previously unscheduled walk-in visit",
}
CANCELLATION_REASONS: dict[str, str] = {
    "pat": "Patient",
    "pat-cpp": "Patient: Canceled via Patient Portal",
    "pat-crs": "Patient: Canceled via automated reminder system",
    "prov-pers": "Provider: Personal",
    "oth-weath": "Other: Weather",
}
CATEGORY_CPTS = ("604", "CPTS")
CATEGORY_CENTRE = ("124", "Centre de Santé")


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A Coding (display only when given)."""
    if display is None:
        return {"system": system, "code": code}
    return {"system": system, "code": code, "display": display}


def concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict[str, Any]:
    """A CodeableConcept with one coding."""
    value: dict[str, Any] = {"coding": [coding(system, code, display)]}
    if text:
        value["text"] = text
    return value


def reference(resource_type: str, resource_id: str, display: str | None = None) -> dict[str, Any]:
    """A relative reference ``Type/id``."""
    if display is None:
        return {"reference": f"{resource_type}/{resource_id}"}
    return {"reference": f"{resource_type}/{resource_id}", "display": display}


__all__ = [name for name in dir() if name.isupper()] + ["coding", "concept", "reference"]
