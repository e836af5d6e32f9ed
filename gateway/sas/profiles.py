"""Canonicals, code systems and value sets of the SAS CPTS aggregator profiles (ans.fhir.fr.sas 1.2.0).

Practitioner, PractitionerRole and Schedule keep the first-generation ``sas.fr`` canonicals: the CPTS bundle profile
slices its entries by them, and the national test kit selects those entries by them.
"""

from __future__ import annotations

from gateway.storage.slot_rows import SLOT_TYPE_SYSTEM as TRE_R314

SAS_IG = "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/"
SAS_V1 = "http://sas.fr/fhir/StructureDefinition/"

BUNDLE_PROFILE = SAS_IG + "sas-cpts-bundle-aggregator"
PROFILES: dict[str, str] = {
    "Slot": SAS_IG + "sas-cpts-slot-aggregator",
    "Schedule": SAS_V1 + "FrScheduleAgregateur",
    "Practitioner": SAS_V1 + "FrPractitionerAgregateur",
    "PractitionerRole": SAS_V1 + "FrPractitionerRoleExerciceAgregateur",
    "HealthcareService": SAS_IG + "sas-cpts-healthcareservice-aggregator",
    "Organization": SAS_IG + "sas-cpts-organization-aggregator",
}
LOCATION_PROFILE = SAS_V1 + "FrLocationAgregateur"  # the Location contained in a PractitionerRole
REQUIRED_TYPES = ("Slot", "Schedule", "Practitioner", "PractitionerRole")  # bundle slices with min 1

IDNPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
IDNST_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
# Practitioner and PractitionerRole.organization use the former FR v2-0203 system; Organization uses FR Core's.
V1_IDENTIFIER_TYPE = "http://interopsante.org/fhir/CodeSystem/fr-v2-0203"
FR_CORE_IDENTIFIER_TYPE = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"

SLOT_TYPE_SYSTEM = TRE_R314  # the same system every capacity search reads (gateway/storage/slot_rows.py)
SLOT_TYPES = frozenset({"PUBLIC", "SNP", "PRO", "CPTS"})  # sas-cpts-valueset-typecreneau
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONSULTATION_TYPES = frozenset({"AMB", "HH", "VR"})  # sas-valueset-typeconsultation
CATEGORY_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/TRE-R66-CategorieEtablissement"
CATEGORY_CPTS = "604"  # sas-valueset-categorieetablissement
APPOINTMENT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0276"
APPOINTMENT_TYPES = frozenset({"ROUTINE", "WALKIN"})  # sas-valueset-appointmentreason
SLOT_SERVICE_TYPE_URL = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Slot.serviceType"

__all__ = [name for name in dir() if name.isupper()]
