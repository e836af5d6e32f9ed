"""FHIR R4 machinery: supported types, validation, search parameters, search, bundles, capability statement."""
