"""HTTP layer: thin FastAPI routes over the FHIR service, operations endpoints, middleware."""
